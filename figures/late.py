"""Figure ``late``: late distillation — final test accuracy against the epoch of a loss switch (claim C2, networks).

A student (same architecture as its one-hot teacher, new initialisation, fixed budget E epochs) trains with one
loss for its first s epochs and the other for the rest, in both directions:

* one-hot → KD after s epochs (s = 0 is pure distillation, s = E pure one-hot),
* KD → one-hot after s epochs (s = 0 is pure one-hot, s = E pure distillation),

with the pure one-hot control (the student's seed, no teacher) and the pure KD student as reference lines
(:mod:`theory.nets.experiment`). The paper's claim C2: switching to distillation midway recovers much of the gain
of distillation, i.e. what matters is the teacher's signal late in training, not early deviations.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from theory.evidence import Claim, Estimate, at_least, greater_than
from theory.metrics.bootstrap import fieller_interval, point_replicates
from theory.nets import DEFAULT_RUN_DIR, analysis, experiment, train
from theory.nets.experiment import Setting

NAME = "late"
KIND = "networks"
DESCRIPTION = "networks: final test accuracy against the switch epoch, one-hot→KD and KD→one-hot (C2)"


@dataclass(frozen=True)
class Config:
    """Settings of the ``late`` figure: the teacher–student ``setting`` (students record no intermediate epochs)
    and the figure's own fields. Switch epochs are ``round(f · student_epochs)`` for f in switch_fractions.

    Defaults from the sweep: a switch needs a clear KD gain to be measured against. The largest was the 1-D CNN on
    MNIST-1D with 20 % label noise at τ = 4 (+0.094 over the one-hot control, 3 seeds), the only setting where the
    late student (switch at half) recovered more than half of it (0.77). Elsewhere the late switch recovered little
    (MLP on MNIST-1D at τ = 2–8: 0.02–0.10 of a +0.02–0.03 gain) while the *early* KD phase kept all of it.
    Same teacher, control and KD student as the ``underfit`` figure (shared runs).
    """

    setting: Setting = Setting(dataset="mnist1d", model="cnn1d", label_noise=0.2, teacher_epochs=60,
                               student_epochs=60, temperature=4.0, record=0)
    switch_fractions: tuple = (0.25, 0.5, 0.75)
    seed: int = 0
    repeats: int = 5  # ≥ 5: the bootstrap resamples the seed level (docs/uncertainty.md)
    run_dir: str = DEFAULT_RUN_DIR  # paper_figs.py sets --runs (default <out>/runs)
    progress: bool = True

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """Small MLP on digits with label noise, 8 epochs, switches at 4 only, one seed (seconds)."""
        setting = replace(cls.setting, dataset="digits", model="mlp", width=64, depth=1, teacher_epochs=8,
                          student_epochs=8, label_noise=0.3)
        return replace(cls(setting=setting, switch_fractions=(0.5,), repeats=1), **overrides)


# --------------------------------------------------------------------------------------------- compute
def compute(config: Config = Config()) -> dict:
    """Final test accuracies of the pure and switched students for each seed, and their means."""
    setting = config.setting
    epochs = setting.student_epochs
    switches = sorted({min(epochs - 1, max(1, int(round(f * epochs)))) for f in config.switch_fractions})
    seeds = list(range(config.seed, config.seed + config.repeats))
    per_seed = []
    middle = _middle(switches, epochs)
    for seed in seeds:
        scored = {}  # per-point test correctness, for the paired bootstrap

        def fit(c, role=None):
            run = train(c, config.run_dir, progress=config.progress)
            if role is not None:
                scored[role] = analysis.correct(run, "test")
            return analysis.accuracy(run, "test")

        entry = dict(seed=seed, teacher=fit(experiment.teacher_config(setting, seed), "teacher"),
                     onehot=fit(experiment.control_config(setting, seed), "onehot"),
                     kd=fit(experiment.student_config(setting, seed), "kd"))
        for direction in ("onehot_to_kd", "kd_to_onehot"):
            entry[direction] = [fit(experiment.switched_config(setting, seed, s, direction),
                                    direction if i == middle else None) for i, s in enumerate(switches)]
        names = list(scored)
        value, draws = point_replicates(lambda *a: np.stack([x.mean(axis=-1) for x in a], axis=-1),
                                        tuple(scored[n] for n in names), replicates=analysis.PER_SEED_REPLICATES,
                                        seed=seed)
        entry["bootstrap"] = analysis.pack_replicates(names, value, draws)
        per_seed.append(entry)
    mean = {key: np.mean([s[key] for s in per_seed], axis=0).tolist()
            for key in ("teacher", "onehot", "kd", "onehot_to_kd", "kd_to_onehot")}
    return dict(config=asdict(config), seeds=seeds, switch_epochs=switches, per_seed=per_seed, mean=mean)


# --------------------------------------------------------------------------------------------- plot
def plot(data: dict):
    """Test accuracy against the switch epoch, both directions, with the pure runs as reference lines."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours
    from .style import use

    use()
    figure, ax = plt.subplots(figsize=(6.0, 3.3), layout="constrained")
    mean, epochs = data["mean"], data["config"]["setting"]["student_epochs"]
    x = [0, *data["switch_epochs"], epochs]
    ax.plot(x, [mean["kd"], *mean["onehot_to_kd"], mean["onehot"]], "o-", ms=4, color=colours["student"],
            label="one-hot → KD at s")
    ax.plot(x, [mean["onehot"], *mean["kd_to_onehot"], mean["kd"]], "s-", ms=4, color=colours["teacher"],
            label="KD → one-hot at s")
    gain = claims(data)[0].evidence  # the KD gain with its 95 % bootstrap interval
    ax.axhline(mean["kd"], color=colours["student"], ls=":", lw=1,
               label=f"pure KD {mean['kd']:.3f} (gain {gain.show(4, '+')})")
    ax.axhline(mean["onehot"], color=colours["onehot"], ls=":", lw=1, label=f"pure one-hot {mean['onehot']:.3f}")
    ax.axhline(mean["teacher"], color="0.6", ls="--", lw=0.8, label=f"teacher {mean['teacher']:.3f}")
    config = data["config"]["setting"]
    ax.set(xlabel="switch epoch s", ylabel="final test accuracy",
           title=f"{config['dataset']}, {config['model']}, noise {config['label_noise']:g}, τ = {config['temperature']:g}, "
                 f"{len(data['seeds'])} seed(s)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


# --------------------------------------------------------------------------------------------- claims
def _middle(switches, epochs) -> int:
    """The index of the switch closest to half the student's epochs (the one the claims read)."""
    return int(np.argmin([abs(s - epochs / 2) for s in switches]))



def claims(data: dict) -> list:
    """KD gain, C2 (late switch recovers ≥ half the gain), and the mirror (an early KD phase alone does not), with
    95 % bootstrap intervals over the test points (paired: the same points for every run) and seeds (hierarchical
    from 5 seeds; docs/uncertainty.md). C2 is Fieller's interval of the recovered fraction.

    Without a KD gain whose interval lies above 0 there is nothing to recover: C2 and its mirror are not judged.
    """
    mean, config = data["mean"], data["config"]["setting"]
    switches = data["switch_epochs"]
    middle = _middle(switches, config["student_epochs"])
    names = ("kd", "onehot", "onehot_to_kd", "kd_to_onehot")
    combined = analysis.seed_bootstrap([s.get("bootstrap") for s in data["per_seed"]], names, seed=0)
    gain = mean["kd"] - mean["onehot"]
    late = mean["onehot_to_kd"][middle] - mean["onehot"]
    early = mean["kd_to_onehot"][middle] - mean["onehot"]
    if combined is None:  # a result stored before intervals: point estimates
        note = "point estimates"
        gain_ci = Estimate(gain)
        judged = gain > 0
        recovered = Estimate(late / gain if judged else None)
        mirror = Estimate(late - early if judged else None)
    else:
        boot, column = combined
        note = boot.note
        gain_ci = boot.difference(column["kd"], column["onehot"])
        judged = gain_ci.low > 0
        reps = boot.replicates
        recovered = fieller_interval(
            boot.value[column["onehot_to_kd"]] - boot.value[column["onehot"]], gain_ci.value,
            reps[:, column["onehot_to_kd"]] - reps[:, column["onehot"]],
            reps[:, column["kd"]] - reps[:, column["onehot"]]) if judged else Estimate(None)
        mirror = boot.difference(column["onehot_to_kd"], column["kd_to_onehot"]) if judged else Estimate(None)
    setting = (f"{config['dataset']}, {config['model']}, noise {config['label_noise']:g}, {len(data['seeds'])} seed(s), "
               f"switch at epoch {switches[middle]} of {config['student_epochs']}; {note}")
    return [
        Claim(claim="KD gain", setting=setting, statement="pure distillation beats pure one-hot training",
              measured=f"test accuracy KD {mean['kd']:.4f}, one-hot {mean['onehot']:.4f} (gain {gain_ci.show(4, '+')})",
              evidence=gain_ci, criterion=greater_than(0.0), criterion_text="gain > 0"),
        Claim(claim="C2", setting=setting,
              statement="one-hot then KD (late distillation) recovers much of the gain of distillation",
              measured=(f"late switch {mean['onehot_to_kd'][middle]:.4f}: recovers {recovered.show(4)} of the gain"
                        if judged else f"late switch {mean['onehot_to_kd'][middle]:.4f}; not judged: no gain "
                        "above 0 to recover"),
              evidence=recovered, criterion=at_least(0.5),
              criterion_text="gain > 0 and recovered fraction ≥ 0.5 (Fieller's 95% CI)"),
        Claim(claim="C2 (mirror)", setting=setting,
              statement="KD early then one-hot keeps less of the gain than the late switch",
              measured=(f"KD→one-hot {mean['kd_to_onehot'][middle]:.4f} ({early / gain:.2f} of the gain) vs late "
                        f"{late / gain:.2f}; late − early {mirror.show(4, '+')}" if judged
                        else f"KD→one-hot {mean['kd_to_onehot'][middle]:.4f}; not judged: no gain"),
              evidence=mirror, criterion=greater_than(0.0),
              criterion_text="gain > 0 and early accuracy < late accuracy"),
    ]
