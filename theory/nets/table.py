"""The settings table of the claims report, built from the stored runs (docs/uncertainty.md §7).

One row per (dataset, label noise, teacher → student architecture and budgets, τ) among the complete distilled
students of a run store (students with a teacher, ξ = 1, no loss switch), over the seeds stored: the teacher's,
the one-hot control's (same seed and budget, no teacher; when stored) and the KD student's test accuracies, the
train and test C1 slopes with their 95 % bootstrap intervals (:func:`theory.nets.analysis.replicates`, combined
over seeds by :func:`theory.nets.analysis.seed_bootstrap`), and the regime variables of the pair
(:func:`theory.nets.analysis.regime`, seed means). :data:`PAPER_ROWS` are the paper's two known settings; the
report shows them beside ours when our run of that setting exists.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from . import analysis
from .store import Run
from .store.listing import stored_runs

__all__ = ["PAPER_ROWS", "settings_rows", "paper_match"]

#: the paper's two known settings: (label, dataset, noisy labels?, teacher → student model, teacher %, student %).
PAPER_ROWS = (
    dict(label="CIFAR-100, ResNet-56 → ResNet-56 (self-distillation)", dataset="cifar100", noisy=False,
         teacher_model="resnet56", student_model="resnet56", teacher=72.52, student=74.55),
    dict(label="CIFAR-100 with label noise (rate not stated to us), ResNet-56 → ResNet-56", dataset="cifar100",
         noisy=True, teacher_model="resnet56", student_model="resnet56", teacher=69.8, student=72.7),
)

_SUMMARY = ("test_slope", "train_slope", "teacher_test_accuracy", "student_test_accuracy")
_REGIME = ("train_saturation", "train_teacher_entropy", "test_correlation", "test_spread_ratio", "test_clip_moved",
           "test_slope_exact")


def _arch(config) -> str:
    extra = "".join(f" {name}={getattr(config, name)}" for name in ("width", "depth") if getattr(config, name))
    return f"{config.model}{extra}"


def _key(config) -> tuple:
    teacher = config.teacher
    return (config.dataset, config.label_noise, config.n_train, _arch(teacher), teacher.epochs, _arch(config),
            config.epochs, config.temperature, config.augment, config.weight_decay)


def settings_rows(run_dir) -> list[dict]:
    """The settings table's rows from the complete runs of a store (module docstring); JSON-ready.

    Each row: ``dataset``, ``label_noise``, ``teacher``/``student`` (architecture and epochs), ``temperature``,
    ``seeds``, ``teacher_test_accuracy``, ``control_test_accuracy`` (None without stored controls),
    ``student_test_accuracy``, ``test_slope`` and ``train_slope`` as ``[value, low, high]``, ``bootstrap`` (the
    scheme in words) and the regime variables (seed means). Empty for a missing or empty store.
    """
    if run_dir is None or not Path(run_dir).is_dir():
        return []
    groups: dict = {}
    for entry in stored_runs(run_dir):
        if entry["status"] != "complete" or not entry["reachable"]:
            continue
        config = Run.open(run_dir, entry["hash"]).config
        if config.teacher is None or config.switch_epoch is not None or config.teacher_weight != 1.0:
            continue
        teacher = Run(run_dir, config.teacher)
        if not teacher.complete:
            continue
        runs = {"teacher": teacher, "student": Run(run_dir, config)}
        control = Run(run_dir, dataclasses.replace(config, teacher=None, teacher_weight=1.0, temperature=1.0,
                                                   temperature_squared=False))
        if control.complete:
            runs["control"] = control
        groups.setdefault(_key(config), []).append(runs)
    return [_row(key, seeds) for key, seeds in sorted(groups.items(), key=lambda item: str(item[0]))]


def _row(key: tuple, seeds: list) -> dict:
    dataset, noise, n_train, teacher, teacher_epochs, student, student_epochs, temperature, augment, decay = key
    per_seed, stored = [], []
    for index, runs in enumerate(seeds):
        measured = {f"{role}_test_accuracy": analysis.accuracy(run, "test") for role, run in runs.items()}
        for split in ("train", "test"):
            measured.update(analysis.regime(runs["teacher"], runs["student"], split))
        per_seed.append(measured)
        stored.append(analysis.replicates(runs, seed=index))
    combined = analysis.seed_bootstrap(stored, _SUMMARY, seed=0)
    boot, column = combined

    def mean(name):
        values = [m[name] for m in per_seed if name in m and np.isfinite(m[name])]
        return float(np.mean(values)) if values else None

    def interval(name):
        estimate = boot.estimate(column[name])
        return [estimate.value, estimate.low, estimate.high]

    row = dict(dataset=dataset, label_noise=noise, n_train=n_train, teacher=f"{teacher}, {teacher_epochs} ep",
               student=f"{student}, {student_epochs} ep", teacher_model=teacher.split()[0],
               student_model=student.split()[0], temperature=temperature, augment=augment, weight_decay=decay,
               seeds=len(seeds), bootstrap=boot.note, teacher_test_accuracy=interval("teacher_test_accuracy"),
               student_test_accuracy=interval("student_test_accuracy"),
               control_test_accuracy=mean("control_test_accuracy"), test_slope=interval("test_slope"),
               train_slope=interval("train_slope"))
    row.update({name: mean(name) for name in _REGIME})
    return row


def paper_match(paper: dict, rows: list) -> list:
    """Our rows of one of :data:`PAPER_ROWS`' settings (same dataset, models, noisy or not)."""
    return [row for row in rows if row["dataset"] == paper["dataset"] and row["teacher_model"] ==
            paper["teacher_model"] and row["student_model"] == paper["student_model"]
            and (row["label_noise"] > 0) == paper["noisy"]]
