"""Figure ``underfit``: low-confidence underfitting on the training points (claim C1, networks).

For a one-hot teacher and its self-distilled student: on the training points, each model's probability of the
training label (noisy where label noise flipped it), p_T,i and p_S,i; points are sorted by p_T and cut into
equal-count bins (:func:`theory.nets.analysis.underfit`). Panel (a): mean p_S against mean p_T per bin;
panel (b): the gap p_S − p_T per bin. The paper's claim: where the teacher is unsure the student is even less
sure (a negative gap in the low bins), and where it is sure the student can be surer.

Reference: the one-hot control (the student's seed and budget, no teacher) against the same teacher — the gap
that a second, independently trained network shows without any distillation.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from theory.evidence import Claim, Estimate, at_least, less_than
from theory.metrics.bootstrap import point_replicates
from theory.nets import DEFAULT_RUN_DIR, analysis, experiment, train
from theory.nets.experiment import Setting

NAME = "underfit"
KIND = "networks"
DESCRIPTION = "networks: student vs teacher probability of the training label, binned by the teacher's (C1)"


@dataclass(frozen=True)
class Config:
    """Settings of the ``underfit`` figure: the teacher–student ``setting`` (its temperature is replaced by each
    of ``temperatures``; students and controls record no intermediate epochs) and the figure's own fields.

    Defaults from the sweep: on training points the student sat below its teacher in the least-confident bins in
    every setting, but teachers that memorise their training set (p ≈ 1 everywhere) leave little to see; the
    1-D CNN on MNIST-1D with 20 % label noise keeps its teacher least sure of the training labels (mean p ≈ 0.86 in
    the lowest three of ten bins) and showed the largest gaps (−0.12 at τ = 1, −0.24 at τ = 4; control +0.05).
    """

    setting: Setting = Setting(dataset="mnist1d", model="cnn1d", label_noise=0.2, teacher_epochs=60,
                               student_epochs=60, record=0)
    temperatures: tuple = (1.0, 4.0)  # one student per τ (τ > 1 with the τ² factor)
    seed: int = 0
    repeats: int = 5  # ≥ 5: the bootstrap resamples the seed level (docs/uncertainty.md)
    bins: int = 10
    low_fraction: float = 0.3  # the lowest 30 % of bins are "low confidence", the highest 30 % "high"
    run_dir: str = DEFAULT_RUN_DIR  # paper_figs.py sets --runs (default <out>/runs)
    progress: bool = True

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """Small MLP on digits, a few epochs, one seed (seconds)."""
        setting = replace(cls.setting, dataset="digits", model="mlp", width=64, depth=1, teacher_epochs=10,
                          student_epochs=10)
        return replace(cls(setting=setting, repeats=1), **overrides)


# --------------------------------------------------------------------------------------------- compute
def compute(config: Config = Config()) -> dict:
    """Trains or reuses teacher, control and one student per temperature for each seed; binned probabilities."""
    seeds = list(range(config.seed, config.seed + config.repeats))
    results = []
    for temperature in config.temperatures:
        setting = replace(config.setting, temperature=temperature)
        per_seed = []
        for seed in seeds:
            runs = {role: train(run_config, config.run_dir, progress=config.progress)
                    for role, run_config in experiment.role_configs(setting, seed).items()}
            student = analysis.underfit(runs["teacher"], runs["student"], bins=config.bins)
            control = analysis.underfit(runs["teacher"], runs["control"], bins=config.bins)
            per_seed.append(dict(
                seed=seed, hashes={role: run.hash for role, run in runs.items()},
                teacher=student["teacher"], student=student["student"], student_frac_below=student["frac_below"],
                control=control["student"], control_frac_below=control["frac_below"], counts=student["counts"],
                teacher_train_accuracy=analysis.accuracy(runs["teacher"], "train", clean=False),
                bootstrap=_replicates(student, control, config, seed)))
        mean = {key: np.mean([s[key] for s in per_seed], axis=0)
                for key in ("teacher", "student", "control", "student_frac_below", "control_frac_below")}
        results.append(dict(temperature=temperature, per_seed=per_seed, mean=mean))
    return dict(config=asdict(config), seeds=seeds, temperatures=results)


_GAPS = ("low_student", "low_control", "high_student")


def _replicates(student: dict, control: dict, config: Config, seed: int) -> dict:
    """Point replicates of the mean gap p_S − p_T over the points of the lowest (and highest) ``low_fraction``
    of bins (the teacher's bins, fixed), and the control's on the same points (paired); docs/uncertainty.md."""
    order = np.array_split(np.argsort(student["p_teacher"], kind="stable"), config.bins)
    k = max(1, int(round(config.low_fraction * config.bins)))
    low, high = np.concatenate(order[:k]), np.concatenate(order[-k:])
    gap_student = np.asarray(student["p_student"]) - np.asarray(student["p_teacher"])
    gap_control = np.asarray(control["p_student"]) - np.asarray(control["p_teacher"])
    means = lambda *a: np.stack([x.mean(axis=-1) for x in a], axis=-1)  # noqa: E731
    rng = np.random.default_rng(seed)
    value_low, draws_low = point_replicates(means, (gap_student[low], gap_control[low]),
                                            replicates=analysis.PER_SEED_REPLICATES, seed=rng)
    value_high, draws_high = point_replicates(means, (gap_student[high],), replicates=analysis.PER_SEED_REPLICATES,
                                              seed=rng)
    return analysis.pack_replicates(_GAPS, np.concatenate([value_low, value_high]),
                                    np.concatenate([draws_low, draws_high], axis=1))


# --------------------------------------------------------------------------------------------- plot
def plot(data: dict):
    """(a) binned mean probabilities of the students (one per τ) and the control against the teacher's;
    (b) the gaps per bin."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours
    from .style import use

    use()
    figure, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(7.4, 3.2), layout="constrained")
    first = {k: np.asarray(v) for k, v in data["temperatures"][0]["mean"].items()}
    centres = np.arange(1, len(first["teacher"]) + 1)
    ax_b.axhline(0, color="k", lw=0.7)
    low_gaps = [c.evidence for c in claims(data) if c.claim.startswith("C1 underfit")]  # 95 % intervals
    for i, entry in enumerate(data["temperatures"]):
        mean = {k: np.asarray(v) for k, v in entry["mean"].items()}
        colour = colours["rounds"][i % len(colours["rounds"])]
        label = f"KD student, τ = {entry['temperature']:g} (low-bin gap {low_gaps[i].show(3, '+')})"
        ax_a.plot(mean["teacher"], mean["student"], "o-", ms=3, color=colour, label=label)
        ax_b.plot(centres, mean["student"] - mean["teacher"], "o-", ms=3, color=colour, label=label)
    ax_a.plot(first["teacher"], first["control"], "s--", ms=3, color=colours["onehot"], label="one-hot control")
    ax_b.plot(centres, first["control"] - first["teacher"], "s--", ms=3, color=colours["onehot"], label="one-hot control")
    ax_a.plot([0, 1], [0, 1], ":", color="k", lw=0.7, label="y = x")
    ax_a.set(xlabel="teacher's p(training label), bin mean", ylabel="model's p(training label), bin mean",
             title="(a) binned by the teacher's probability", xlim=(0, 1.02), ylim=(0, 1.02))
    ax_a.legend(loc="upper left")
    ax_b.set(xlabel="bin (teacher probability, increasing)", ylabel="model − teacher, p(training label)",
             title="(b) gap per bin")
    ax_b.legend(loc="lower right")
    config = data["config"]["setting"]
    figure.suptitle(f"{config['dataset']}, {config['model']}, training points, label noise "
                    f"{config['label_noise']:g}, mean of {len(data['seeds'])} seed(s)", fontsize=9)
    return figure


# --------------------------------------------------------------------------------------------- claims

def claims(data: dict) -> list:
    """Per temperature: C1 low-confidence underfitting, against the control, and the high-confidence counterpart.

    Evidence: the mean gap p_S − p_T over the points of the lowest (highest) ``low_fraction`` of the teacher's
    bins with its 95 % bootstrap interval (points, paired with the control; seeds from 5 on; docs/uncertainty.md);
    the per-bin gaps are in the measured text.
    """
    config, setting_config = data["config"], data["config"]["setting"]
    fmt = lambda values: ", ".join(f"{v:+.3f}" for v in values)  # noqa: E731
    result = []
    for entry in data["temperatures"]:
        mean = {k: np.asarray(v) for k, v in entry["mean"].items()}
        bins = len(mean["teacher"])
        k = max(1, int(round(config["low_fraction"] * bins)))
        low_gap = mean["student"][:k] - mean["teacher"][:k]
        high_gap = mean["student"][-k:] - mean["teacher"][-k:]
        control_low = mean["control"][:k] - mean["teacher"][:k]
        tau = f"τ={entry['temperature']:g}"
        combined = analysis.seed_bootstrap([s.get("bootstrap") for s in entry["per_seed"]], _GAPS, seed=0)
        if combined is None:  # a result stored before intervals: the per-bin rule on point values
            note, low, over, high = ("point estimates", Estimate.maximum(low_gap),
                                     Estimate(low_gap.mean() - control_low.mean()), Estimate.minimum(high_gap))
            texts = ("every low bin < 0", "student gap < control gap", "every high bin ≥ 0")
        else:
            boot, column = combined
            note = boot.note
            low, high = boot.estimate(column["low_student"]), boot.estimate(column["high_student"])
            over = boot.difference(column["low_student"], column["low_control"])
            texts = ("mean gap on the low bins' points < 0 (95% CI)", "student gap − control gap < 0 (95% CI)",
                     "mean gap on the high bins' points ≥ 0 (95% CI)")
        setting = (f"{setting_config['dataset']}, {setting_config['model']}, noise "
                   f"{setting_config['label_noise']:g}, {tau}, training points, {len(data['seeds'])} seed(s); {note}")
        result += [
            Claim(claim=f"C1 underfit {tau}", setting=setting,
                  statement=f"in the lowest {k} of {bins} teacher-probability bins the student is less confident",
                  measured=f"mean gap {low.show(3, '+')}; per bin: {fmt(low_gap)}", evidence=low,
                  criterion=less_than(0.0), criterion_text=texts[0]),
            Claim(claim=f"C1 vs ctl {tau}", setting=setting,
                  statement="the student's low-confidence gap is more negative than an independent one-hot network's",
                  measured=f"mean gap over low bins: student {low_gap.mean():+.3f}, control {control_low.mean():+.3f}"
                           f"; difference {over.show(3, '+')}",
                  evidence=over, criterion=less_than(0.0), criterion_text=texts[1]),
            Claim(claim=f"C1 confident {tau}", setting=setting,
                  statement=f"in the highest {k} bins the student is at least as confident as the teacher",
                  measured=f"mean gap {high.show(3, '+')}; per bin: {fmt(high_gap)}", evidence=high,
                  criterion=at_least(0.0), criterion_text=texts[2]),
        ]
    return result
