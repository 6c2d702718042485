"""Figure ``exaggeration``: does a distilled network exaggerate its teacher's confidence? (claim C1, networks)

For a one-hot teacher and its self-distilled student (same architecture, new initialisation), on the training and
the test points: φ(p) = log(p / (1 − p)) of each model's probability of the teacher's top-1 class, student against
teacher — the points, equal-count binned means and the OLS line (:func:`theory.metrics.exaggeration`, through
:func:`theory.nets.analysis.exaggeration`). Slope > 1 means the student is less confident than the teacher where
the teacher is unsure and more confident where it is sure.

Students are trained at each temperature τ of ``temperatures`` (τ > 1 with the τ² factor); the sweep
(:mod:`theory.nets.sweep`) found the temperature to be what decides the slope for these small networks.

Reference: a one-hot *control* network with the student's seed and budget but no teacher, against the same
teacher. Two independently trained networks disagree at random, and least squares then gives a slope below 1
(regression dilution); the control measures that baseline, so "student slope > control slope" separates what
distillation does from seed noise.

Runs come from the run store (``run_dir``) and are reused by the other network figures and the sweep.

Beside the networks, the kernel prediction (the Classification issue's model, ``theory.regimes``): an RBF kernel
teacher and its self-distilled kernel student trained by cross-entropy GD for ``kernel_steps`` steps each at the
same τ and label noise; its binned means are plotted against *its own* teacher's φ (black triangles).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from theory.evidence import Claim, Estimate, greater_than
from theory.nets import DEFAULT_RUN_DIR, analysis, experiment, train
from theory.nets.experiment import Setting

NAME = "exaggeration"
KIND = "networks"
DESCRIPTION = "networks: φ(p_student) against φ(p_teacher) on train and test, OLS slope and binned means (C1)"


@dataclass(frozen=True)
class Config:
    """Settings of the ``exaggeration`` figure: the teacher–student ``setting`` (its temperature is replaced by
    each of ``temperatures``; students and controls record no intermediate epochs) and the figure's own fields.

    Defaults from the sweep (``python -m theory.nets.sweep --grid focus --seeds 3``): C1 (test slope > 1) held only
    for the MLP on MNIST-1D at τ ≥ 2, most clearly with 20 % label noise at τ = 4 (slopes 1.022, 1.032, 1.022 on
    three seeds, each above its one-hot control); at τ = 1 the slope was below 1 and below the control in every
    setting. The default shows both temperatures of that setting. With 5 seeds and 95 % hierarchical bootstrap
    intervals (docs/uncertainty.md): τ = 4 test slope 1.029 [1.005, 1.051] (reproduced), train 1.034 [1.031,
    1.037], but student − control 0.022 [−0.008, 0.054] (inconclusive; the control's slope is 1.007); τ = 1 test
    0.924 [0.898, 0.951] (not reproduced).
    """

    setting: Setting = Setting(dataset="mnist1d", model="mlp", label_noise=0.2, teacher_epochs=60,
                               student_epochs=60, record=0)
    temperatures: tuple = (1.0, 4.0)
    seed: int = 0
    repeats: int = 5  # seeds seed, seed + 1, … (≥ 5: the seed level of the bootstrap is resampled)
    bins: int = 20
    scatter_points: int = 1500
    run_dir: str = DEFAULT_RUN_DIR  # paper_figs.py sets --runs (default <out>/runs)
    progress: bool = True
    # the kernel prediction beside the networks (theory.regimes): an RBF kernel teacher and student trained by
    # cross-entropy GD for the same number of steps, at each temperature and the same label noise
    kernel_n_train: int = 1000
    kernel_steps: int = 400

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """Small MLP on digits, a few epochs, one seed (seconds)."""
        setting = replace(cls.setting, dataset="digits", width=64, depth=1, teacher_epochs=10, student_epochs=10)
        return replace(cls(setting=setting, repeats=1, bins=10, kernel_n_train=200, kernel_steps=100), **overrides)


# --------------------------------------------------------------------------------------------- compute
def _split_data(teacher, student, control, bins, scatter_points, rng):
    result = {}
    for split in ("train", "test"):
        measured = analysis.exaggeration(teacher, student, split, bins=bins)
        baseline = analysis.exaggeration(teacher, control, split, bins=bins)
        keep = rng.permutation(measured.n)[:scatter_points]
        result[split] = dict(
            **measured.as_dict(), bin_teacher=measured.bin_teacher, bin_student=measured.bin_student,
            control_slope=baseline.slope, control_bin_student=baseline.bin_student,
            control_frac_low_below=baseline.frac_low_below,
            scatter_teacher=measured.phi_teacher[keep], scatter_student=measured.phi_student[keep])
    return result


def compute(config: Config = Config()) -> dict:
    """Trains or reuses teacher, control and one student per temperature for each seed; every plotted number."""
    seeds = list(range(config.seed, config.seed + config.repeats))
    results = []
    for temperature in config.temperatures:
        setting = replace(config.setting, temperature=temperature)
        per_seed = []
        for seed in seeds:
            runs = {role: train(run_config, config.run_dir, progress=config.progress)
                    for role, run_config in experiment.role_configs(setting, seed).items()}
            entry = _split_data(runs["teacher"], runs["student"], runs["control"], config.bins,
                                config.scatter_points, np.random.default_rng(seed))
            entry.update(seed=seed, hashes={role: run.hash for role, run in runs.items()},
                         accuracy={role: analysis.accuracy(run, "test") for role, run in runs.items()},
                         teacher_train_accuracy=analysis.accuracy(runs["teacher"], "train", clean=False),
                         bootstrap=analysis.replicates(runs, seed=seed))
            for split in ("train", "test"):
                entry[split]["regime"] = analysis.regime(runs["teacher"], runs["student"], split)
            per_seed.append(entry)
        summary = {split: {key: float(np.mean([s[split][key] for s in per_seed]))
                           for key in ("slope", "control_slope", "frac_low_below", "frac_high_above")}
                   for split in ("train", "test")}
        intervals = _intervals(per_seed)
        for split in ("train", "test"):
            summary[split]["slope_ci"] = list(intervals[f"{split}_slope"].bounds())
            summary[split]["control_slope_ci"] = list(intervals[f"control_{split}_slope"].bounds())
            summary[split]["regime"] = {key.removeprefix(f"{split}_"): float(np.mean([s[split]["regime"][key]
                                                                                    for s in per_seed]))
                                        for key in per_seed[0][split]["regime"]}
        summary["bootstrap"] = intervals["note"]
        results.append(dict(temperature=temperature, per_seed=per_seed, summary=summary))
    return dict(config=asdict(config), seeds=seeds, temperatures=results, kernel=_kernel_prediction(config))


_SLOPES = ("test_slope", "train_slope", "control_test_slope", "control_train_slope")


def _intervals(per_seed: list) -> dict:
    """95 % bootstrap intervals of the mean slopes over seeds (hierarchical from 5 seeds, over points below),
    and of student − control on test (paired: the same points and seeds); see docs/uncertainty.md."""
    combined = analysis.seed_bootstrap([s.get("bootstrap") for s in per_seed], _SLOPES, seed=0)
    if combined is None:  # a result stored before intervals: point values
        return dict(note="point estimates", over_control=Estimate(float("nan")),
                    **{name: Estimate(float("nan")) for name in _SLOPES})
    boot, column = combined
    return dict(note=boot.note, over_control=boot.difference(column["test_slope"], column["control_test_slope"]),
                **{name: boot.estimate(column[name]) for name in _SLOPES})



def _kernel_prediction(config: Config) -> list:
    """Binned φ of an RBF kernel student against its kernel teacher (cross-entropy GD, t̃ = T), per temperature."""
    from theory import exaggeration, softmax
    from theory.metrics.bootstrap import slope_interval
    from theory.regimes import kernel_task, regime_map

    task = kernel_task(config.setting.dataset, n_train=config.kernel_n_train, seed=config.seed)
    result = regime_map(task, teacher_steps=[config.kernel_steps], student_steps=[config.kernel_steps],
                        temperatures=list(config.temperatures), noise_rates=[config.setting.label_noise],
                        noise_seed=config.seed, bins=config.bins, bottom=(10, min(40, task.data.n_train)),
                        keep_logits=True)
    entries = []
    for s, temperature in enumerate(config.temperatures):
        entry = dict(temperature=temperature, steps=config.kernel_steps, n_train=task.data.n_train)
        for split in ("train", "test"):
            fit = exaggeration(softmax(result.logits[f"teacher_{split}"][0, 0]),
                               softmax(result.logits[f"student_{split}"][0, 0, s, 0]), bins=config.bins)
            # the kernel model is deterministic given the data: its interval is over the test (train) points
            slope_ci = slope_interval(fit.phi_teacher, fit.phi_student, seed=config.seed).bounds()
            entry[split] = dict(slope=fit.slope, slope_ci=slope_ci, intercept=fit.intercept,
                                bin_teacher=fit.bin_teacher, bin_student=fit.bin_student)
        entries.append(entry)
    return entries


# --------------------------------------------------------------------------------------------- plot
def plot(data: dict):
    """A row per temperature, columns train and test: points (first seed), binned means of student and control
    (first seed), OLS line and diagonal; titles give the slope averaged over seeds."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours
    from .style import use

    use()
    rows = len(data["temperatures"])
    figure, axes = plt.subplots(rows, 2, figsize=(7.4, 3.1 * rows), layout="constrained", squeeze=False)
    for row, result in zip(axes, data["temperatures"]):
        first = result["per_seed"][0]
        for ax, split in zip(row, ("train", "test")):
            part = first[split]
            ax.scatter(part["scatter_teacher"], part["scatter_student"], s=3, alpha=0.15, color=colours["student"],
                       lw=0, rasterized=True)
            ax.plot(part["bin_teacher"], part["bin_student"], "o-", ms=3, color=colours["student"],
                    label=f"KD student, binned (slope {part['slope']:.2f})")
            ax.plot(part["bin_teacher"], part["control_bin_student"], "s--", ms=3, color=colours["onehot"],
                    label=f"one-hot control, binned (slope {part['control_slope']:.2f})")
            grid = np.array([np.min(part["bin_teacher"]), np.max(part["bin_teacher"])])
            ax.plot(grid, part["slope"] * grid + part["intercept"], color=colours["student"], lw=0.8)
            ax.plot(grid, grid, color="k", lw=0.7, ls=":", label="y = x")
            kernel = next((k for k in data.get("kernel", []) if k["temperature"] == result["temperature"]), None)
            if kernel is not None:
                ax.plot(kernel[split]["bin_teacher"], kernel[split]["bin_student"], "^-", ms=3, lw=0.8,
                        color=colours["theory"], label=f"RBF kernel model, binned (slope {kernel[split]['slope']:.2f})")
            summary = result["summary"][split]
            interval = summary.get("slope_ci")
            shown = (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval and None not in interval
                     and interval[0] == interval[0] else "")
            ax.set(xlabel="φ(p_teacher)  (teacher's top-1 class)", ylabel="φ(p_model)",
                   title=f"τ = {result['temperature']:g}, {split}: slope {summary['slope']:.3f}{shown}\n"
                         f"(control {summary['control_slope']:.3f})")
            ax.legend(loc="upper left")
    config = data["config"]["setting"]
    figure.suptitle(f"{config['dataset']}, {config['model']}, noise {config['label_noise']:g}, teacher "
                    f"{config['teacher_epochs']} / student {config['student_epochs']} epochs;\ntitles: mean slope over "
                    f"{len(data['seeds'])} seed(s) [95% bootstrap CI]; points and bins: seed {data['seeds'][0]}",
                    fontsize=9)
    return figure


# --------------------------------------------------------------------------------------------- claims
def same_side(first: Estimate, second: Estimate, null: float) -> Estimate:
    """(first − null)·(second − null) with the interval of the product of the two intervals (interval arithmetic):
    above 0 when both intervals lie on the same side of ``null``, below 0 when they lie on opposite sides, and
    containing 0 when either contains ``null``; no interval when either has none.

    Example:
      >>> same_side(Estimate(1.2, 1.1, 1.3), Estimate(1.05, 1.01, 1.09), 1.0).show(4)
      '0.0100 [0.0010, 0.0270]'
      >>> same_side(Estimate(1.2, 1.1, 1.3), Estimate(0.98, 0.95, 1.01), 1.0).interval is not None
      True
    """
    value = (first.value - null) * (second.value - null)
    if first.interval is None or second.interval is None:
        return Estimate(value)
    corners = [(a - null) * (b - null) for a in first.interval for b in second.interval]
    return Estimate(value, min(corners), max(corners))


def claims(data: dict) -> list:
    """Per temperature: C1 on test and train (slope > 1), and against the one-hot control (seed-noise baseline),
    each with its 95 % bootstrap interval (docs/uncertainty.md); the regime variables in the setting text."""
    config = data["config"]["setting"]
    result = []
    for entry in data["temperatures"]:
        per_seed = entry["per_seed"]
        intervals = _intervals(per_seed)
        regime = entry["summary"].get("train", {}).get("regime")
        where = (f"; regime: teacher saturation {regime['saturation']:.2f} on the training points, test r · σS/σT = "
                 f"{entry['summary']['test']['regime']['correlation']:.3f} · "
                 f"{entry['summary']['test']['regime']['spread_ratio']:.3f}" if regime else "")
        setting = (f"{config['dataset']}, {config['model']}, noise {config['label_noise']:g}, "
                   f"τ={entry['temperature']:g}, {len(per_seed)} seed(s); {intervals['note']}{where}")
        for split in ("test", "train"):
            slopes = [s[split]["slope"] for s in per_seed]
            estimate = intervals[f"{split}_slope"]
            if estimate.value != estimate.value:  # no replicates stored: the mean as a point
                estimate = Estimate.mean(slopes)
            result.append(Claim(
                claim=f"C1 {split} τ={entry['temperature']:g}", setting=setting,
                statement=f"the student exaggerates the teacher's confidence on {split} points (OLS slope > 1)",
                measured=f"slope {estimate.show(3)} (per seed {', '.join(f'{v:.3f}' for v in slopes)})",
                evidence=estimate, criterion=greater_than(1.0), criterion_text="mean slope > 1 (95% CI above 1)"))
        students = [s["test"]["slope"] for s in per_seed]
        controls = [s["test"]["control_slope"] for s in per_seed]
        kernel = next((k for k in data.get("kernel", []) if k["temperature"] == entry["temperature"]), None)
        if kernel is not None:
            network = intervals["test_slope"]
            if network.value != network.value:  # no replicates stored: the mean as a point
                network = Estimate.mean(students)
            theory = Estimate(kernel["test"]["slope"], *(kernel["test"].get("slope_ci") or (None, None)))
            result.append(Claim(
                claim="kernel vs network", setting=setting + f", RBF kernel n={kernel['n_train']}, T = t̃ = "
                f"{kernel['steps']} GD steps, test",
                statement="the kernel model's slope is on the same side of 1 as the networks'",
                measured=f"kernel {theory.show(3)}, networks {network.show(3)}",
                evidence=same_side(theory, network, 1.0), criterion=greater_than(0.0),
                criterion_text="both > 1 or both < 1: (kernel − 1)(networks − 1) > 0, the product of the two 95% "
                               "intervals (joint coverage ≥ 90%)"))
        over = intervals["over_control"]
        criterion_text = "student − control slope > 0 (95% CI, paired points and seeds)"
        if over.value != over.value:  # no replicates stored
            over, criterion_text = Estimate.minimum(np.subtract(students, controls)), "student > control, every seed"
        result.append(Claim(
            claim=f"C1 vs ctl τ={entry['temperature']:g}", setting=setting + ", test",
            statement="the student's slope exceeds that of an independently trained one-hot network (seed noise)",
            measured=f"student {np.mean(students):.3f}, control {np.mean(controls):.3f}, difference {over.show(3)}",
            evidence=over, criterion=greater_than(0.0), criterion_text=criterion_text))
    return result
