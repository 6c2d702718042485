"""Bring your own runs: the paper's diagnostics for teachers and students trained elsewhere (docs/uncertainty.md §6).

``python -m theory.measure --teacher T.npz --student S.npz [--control C.npz] [--out DIR]`` reads logits and labels
(PyTorch on CIFAR-100 or ImageNet, say: ``np.savez("S.npz", test_logits=..., test_labels=...)``), and computes
the shared metrics (:mod:`theory.metrics`), the regime variables (:func:`theory.metrics.regime`) and the claims
with 95 % bootstrap intervals (:mod:`theory.metrics.bootstrap`). It writes ``DIR/measure.json`` (the claims rows
of :meth:`theory.evidence.Claim.to_dict`, as in a figure's JSON, the metrics, regime variables and binned means)
and ``DIR/measure.md`` (the rows as a table); the claims report (``paper_figs.py --report --out DIR``) lists them
beside our own runs. Several seeds: give several ``--student`` files (and one teacher, or one teacher per
student; ``--control`` as many as students): the intervals resample seeds too from 5 seeds on.

**File format** (``np.load``, ``allow_pickle=False``): one run per ``.npz``, per split ``train`` and/or ``test``:

* ``{split}_logits``: ``(n, C)`` finite floats, the model's logits (pre-softmax) on the split's points;
* ``{split}_labels``: ``(n,)`` integers in [0, C): the labels the split is scored against (the same points in the
  same order in every file; for noisy training labels pass the noisy ones on train);
* optional ``temperature`` (student file, scalar > 0): the distillation τ, so the teacher's saturation is
  measured on its targets softmax(z_T/τ); default 1;
* optional ``target_logits`` (teacher file, ``(k, C)``): the teacher's logits on the inputs the student trained
  on when they differ from the training points (augmented views); its saturation is then measured there.

A split is measured when the teacher and every student have it. Errors are one line and exit with status 2.

Claims (as in our figures): ``C1 {split}`` OLS slope of φ(p_student) on φ(p_teacher) > 1 (teacher's top-1 class,
φ clipped at 1e-7 as :func:`theory.metrics.exaggeration`; the exact slope from logits is a regime variable),
``C1 vs ctl`` student slope − control slope > 0, ``C5`` student − teacher test accuracy > 0, and the check
``KD gain`` student − control test accuracy > 0 (paired over test points).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from ._checks import check_integer
from ._io import atomic_write
from .evidence import Claim, greater_than
from .metrics import bootstrap, classification_report, exaggeration, fidelity, regime, softmax
from .metrics.regime import saturation

__all__ = ["SPLITS", "MeasureError", "load_run", "measure", "claims", "markdown", "main"]

SPLITS = ("train", "test")


class MeasureError(ValueError):
    """An input file that cannot be measured (the message says which file and what to change)."""


def load_run(path, role: str = "run") -> dict:
    """One run's ``{split: {"logits", "labels"}}`` plus ``temperature`` and ``target_logits`` from an ``.npz``.

    Raises :class:`MeasureError` (one line naming the file) for a missing or unreadable file, pickled arrays,
    missing or malformed keys.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            stored = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise MeasureError(f"{role} file {str(path)!r} does not exist.") from None
    except ValueError as error:  # object arrays need pickle
        raise MeasureError(f"{role} file {str(path)!r} holds pickled objects ({error}); save plain numeric "
                           "arrays with np.savez.") from None
    except (OSError, EOFError) as error:
        raise MeasureError(f"{role} file {str(path)!r} is not a readable .npz ({error}).") from None
    known = {f"{s}_{k}" for s in SPLITS for k in ("logits", "labels")} | {"temperature", "target_logits"}
    unknown = sorted(set(stored) - known)
    if unknown:
        raise MeasureError(f"{role} file {str(path)!r} has unknown keys {unknown}; expected "
                           f"{sorted(known)} (see python -m theory.measure --help).")
    run = {"temperature": 1.0, "target_logits": None, "path": str(path)}
    for split in SPLITS:
        logits, labels = stored.get(f"{split}_logits"), stored.get(f"{split}_labels")
        if logits is None and labels is None:
            continue
        if logits is None or labels is None:
            raise MeasureError(f"{role} file {str(path)!r} has only one of {split}_logits and {split}_labels; "
                               "give both.")
        run[split] = {"logits": _logits(logits, f"{split}_logits", path, role),
                      "labels": _labels(labels, f"{split}_labels", logits.shape, path, role)}
    if not any(split in run for split in SPLITS):
        raise MeasureError(f"{role} file {str(path)!r} has neither train_logits nor test_logits; save "
                           "{split}_logits and {split}_labels for at least one split.")
    if "temperature" in stored:
        value = stored["temperature"]
        if value.shape != () or not np.issubdtype(value.dtype, np.number) or not float(value) > 0 \
                or not math.isfinite(float(value)):
            raise MeasureError(f"{role} file {str(path)!r}: temperature must be a finite scalar > 0, got "
                               f"{value!r}.")
        run["temperature"] = float(value)
    if "target_logits" in stored:
        run["target_logits"] = _logits(stored["target_logits"], "target_logits", path, role)
    return run


def _logits(array, key, path, role) -> np.ndarray:
    if array.ndim != 2 or array.shape[0] < 2 or array.shape[1] < 2 or not np.issubdtype(array.dtype, np.number):
        raise MeasureError(f"{role} file {str(path)!r}: {key} must be a numeric (n, C) array with n ≥ 2 points "
                           f"and C ≥ 2 classes, got shape {array.shape} and dtype {array.dtype}.")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise MeasureError(f"{role} file {str(path)!r}: {key} must be finite, got "
                           f"{int(np.sum(~np.isfinite(array)))} NaN or infinite entries.")
    return array


def _labels(array, key, shape, path, role) -> np.ndarray:
    if array.shape != shape[:1] or not np.issubdtype(array.dtype, np.integer):
        raise MeasureError(f"{role} file {str(path)!r}: {key} must be ({shape[0]},) integers (one label per row of "
                           f"the logits), got shape {array.shape} and dtype {array.dtype}.")
    if array.size and (array.min() < 0 or array.max() >= shape[1]):
        raise MeasureError(f"{role} file {str(path)!r}: {key} must lie in [0, {shape[1]}), got values in "
                           f"[{array.min()}, {array.max()}].")
    return array.astype(np.int64)


def _check_pair(teacher: dict, other: dict, split: str) -> None:
    a, b = teacher[split], other[split]
    if a["logits"].shape != b["logits"].shape:
        raise MeasureError(f"{other['path']!r}: {split}_logits has shape {b['logits'].shape}, the teacher's "
                           f"{teacher['path']!r} {a['logits'].shape}; both must score the same points and classes.")
    if not np.array_equal(a["labels"], b["labels"]):
        raise MeasureError(f"{other['path']!r}: {split}_labels differ from the teacher's {teacher['path']!r}; the "
                           "files must hold the same points in the same order.")


def measure(teachers, students, controls=(), *, replicates: int = bootstrap.REPLICATES, seed: int = 0) -> dict:
    """Metrics, regime variables and bootstrap replicates of loaded runs (:func:`load_run`), one seed per student.

    ``teachers``: one run, or one per student. ``controls``: none, or one per student (one-hot students).
    Returns the JSON-ready result (without claims; :func:`claims` derives them).
    """
    teachers, students, controls = list(teachers), list(students), list(controls)
    if not students:
        raise MeasureError("give at least one --student file.")
    if len(teachers) not in (1, len(students)):
        raise MeasureError(f"give one --teacher or one per --student, got {len(teachers)} teachers for "
                           f"{len(students)} students.")
    if controls and len(controls) != len(students):
        raise MeasureError(f"give one --control per --student, got {len(controls)} for {len(students)}.")
    replicates = check_integer(replicates, "replicates", minimum=100)
    teachers = teachers * len(students) if len(teachers) == 1 else teachers
    splits = [s for s in SPLITS if all(s in run for run in teachers + students + controls)]
    if not splits:
        raise MeasureError("no split is present in the teacher and every student (and control): save "
                           "test_logits/test_labels (or train_*) in every file.")
    rng = np.random.default_rng(seed)
    per_seed = []
    for index, (teacher, student) in enumerate(zip(teachers, students)):
        control = controls[index] if controls else None
        entry = {"teacher": teacher["path"], "student": student["path"], "control": control and control["path"],
                 "temperature": student["temperature"]}
        names, values, draws = [], [], []
        for split in splits:
            for other in [student] + ([control] if control else []):
                _check_pair(teacher, other, split)
            labels = teacher[split]["labels"]
            p = {"teacher": softmax(teacher[split]["logits"]), "student": softmax(student[split]["logits"])}
            if control:
                p["control"] = softmax(control[split]["logits"])
            fit = exaggeration(p["teacher"], p["student"], bins=20)
            phis = {"student": fit.phi_student}
            if control:
                phis["control"] = exaggeration(p["teacher"], p["control"]).phi_student
            correct = {role: q.argmax(axis=1) == labels for role, q in p.items()}
            split_names, value, reps = bootstrap.split_replicates(split, fit.phi_teacher, phis, correct,
                                                                  replicates=replicates, seed=rng)
            names += split_names
            values.append(value)
            draws.append(reps)
            agree = fidelity(p["teacher"], p["student"])
            pair = regime(teacher[split]["logits"], student[split]["logits"], temperature=student["temperature"])
            measured = dict(pair.as_dict(), saturation_on=f"{split}_logits")
            if split == "train" and teacher["target_logits"] is not None:  # the augmented views the student saw
                share, entropy = saturation(teacher["target_logits"], student["temperature"])
                measured.update(saturation=share, teacher_entropy=entropy, saturation_on="target_logits")
            entry[split] = dict(
                slope=fit.slope, frac_low_below=fit.frac_low_below, frac_high_above=fit.frac_high_above,
                bin_teacher=fit.bin_teacher.tolist(), bin_student=fit.bin_student.tolist(), agreement=agree.agreement,
                kl=agree.kl, regime=measured,
                **{f"{role}_{k}": v for role, q in p.items() for k, v in classification_report(q, labels).items()})
        entry["bootstrap"] = dict(names=names, values=np.concatenate(values).tolist(),
                                  replicates=np.concatenate(draws, axis=1))
        per_seed.append(entry)
    return dict(splits=splits, seeds=len(per_seed), replicates=replicates, seed=seed, per_seed=per_seed)


def _combined(result: dict):
    """The bootstrap over seeds of every statistic all seeds share."""
    stored = [entry["bootstrap"] for entry in result["per_seed"]]
    names = [n for n in stored[0]["names"] if all(n in s["names"] for s in stored)]
    values = np.array([[s["values"][s["names"].index(n)] for n in names] for s in stored])
    draws = np.array([np.asarray(s["replicates"])[:, [s["names"].index(n) for n in names]] for s in stored])
    return bootstrap.combine_seeds(values, draws, seed=result["seed"]), {n: i for i, n in enumerate(names)}



def claims(result: dict, name: str = "your runs") -> list:
    """The claims of a :func:`measure` result with 95 % intervals (module docstring)."""
    boot, column = _combined(result)
    first = result["per_seed"][0]
    rows = []
    for split in result["splits"]:
        reg = first[split]["regime"]
        where = (f"{name}, {split}, τ={first['temperature']:g}; {boot.note}; regime: teacher saturation "
                 f"{reg['saturation']:.2f}, r · σS/σT = {reg['correlation']:.3f} · {reg['spread_ratio']:.3f}, "
                 f"agreement {reg['agreement']:.3f}, φ moved by the clip on {reg['clip_moved']:.2f} of points")
        slope = boot.estimate(column[f"{split}_slope"])
        rows.append(Claim(claim=f"C1 {split}", setting=where, evidence=slope, criterion=greater_than(1.0),
                          statement=f"the student exaggerates the teacher's confidence on {split} points (OLS "
                                    "slope > 1)", measured=f"slope {slope.show(4)}"))
        if f"control_{split}_slope" in column:
            over = boot.difference(column[f"{split}_slope"], column[f"control_{split}_slope"])
            rows.append(Claim(claim=f"C1 vs ctl {split}", setting=where, evidence=over, criterion=greater_than(0.0),
                              statement="the student's slope exceeds the one-hot control's",
                              measured=f"student − control slope {over.show(4, '+')}"))
    if "test" in result["splits"]:
        where = f"{name}, test; {boot.note}"
        gap = boot.difference(column["student_test_accuracy"], column["teacher_test_accuracy"])
        rows.append(Claim(claim="C5", setting=where, evidence=gap, criterion=greater_than(0.0),
                          statement="the student's test accuracy exceeds the teacher's",
                          measured=f"student − teacher {gap.show(4, '+')}"))
        if "control_test_accuracy" in column:
            gain = boot.difference(column["student_test_accuracy"], column["control_test_accuracy"])
            rows.append(Claim(claim="KD gain", setting=where, evidence=gain, criterion=greater_than(0.0),
                              statement="the distilled student's test accuracy exceeds the one-hot control's",
                              measured=f"student − control {gain.show(4, '+')}"))
    return rows


def markdown(rows: list) -> str:
    """Claim rows (:meth:`Claim.to_dict`) as a Markdown table, in the claims report's format."""
    lines = ["| claim | setting | measured | criterion | verdict |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [row["claim"] + ": " + row["statement"], row["setting"], row["measured"], row["criterion"],
                 row["verdict"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _json_ready(value):
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items() if k != "replicates" or not isinstance(v, np.ndarray)}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m theory.measure", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", nargs="+", required=True, metavar="T.npz", help="teacher run(s)")
    parser.add_argument("--student", nargs="+", required=True, metavar="S.npz", help="distilled student(s), one "
                        "per seed")
    parser.add_argument("--control", nargs="*", default=[], metavar="C.npz", help="one-hot student(s), one per "
                        "student")
    parser.add_argument("--out", default=None, metavar="DIR", help="write measure.json and measure.md here")
    parser.add_argument("--name", default="your runs", help="the setting's name in the report")
    parser.add_argument("--replicates", type=int, default=bootstrap.REPLICATES, help="bootstrap replicates")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = measure([load_run(p, "teacher") for p in args.teacher],
                         [load_run(p, "student") for p in args.student],
                         [load_run(p, "control") for p in args.control], replicates=args.replicates, seed=args.seed)
        rows = [claim.to_dict() for claim in claims(result, args.name)]
    except (MeasureError, ValueError) as error:
        print(f"python -m theory.measure: error: {error}", file=sys.stderr)
        return 2
    table = markdown(rows)
    if args.out is not None:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(_json_ready(dict(claims=rows, name=args.name, source="theory.measure", **result)),
                          indent=1)
        atomic_write(out / "measure.json", lambda t: Path(t).write_text(text))
        atomic_write(out / "measure.md", lambda t: Path(t).write_text(f"# {args.name}\n\n{table}"))
    print(table, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
