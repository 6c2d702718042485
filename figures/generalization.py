"""Figure ``generalization``: where a self-distilled kernel student beats its teacher (C5) and exaggerates (C1).

Kernel teacher and student as in ``figures.exaggeration_theory`` (RBF kernel, lengthscale = median pairwise
distance, full-batch cross-entropy GD at η = 0.95 · 4/λ_max; the student distils softmax(Z_te/τ) with the τ²
factor, from zero logits), on digits with symmetric label noise in the training labels (clean test labels).

(a, b): heat maps over (teacher budget T, student budget t̃) at one noise rate of the student-minus-teacher
test accuracy and of the OLS slope of φ(p_st) on φ(p_te) on test points. (c, d): the same two quantities over
(noise rate, T) at equal budgets t̃ = T.

Why these settings (``theory.regimes.regime_map`` on digits, n = 800 and 1,347): the student beats the teacher only
where the teacher over-fits noisy labels; on clean digits, and with 20% noise up to T = 1600, the teacher's test
accuracy still rises with T and no student exceeds it (at best equal, at t̃ = 4T). Hence noise rates up to 0.4
and budgets up to 3200; n = 800 keeps the 30 student runs (5 noise rates × 6 budgets) in one vmapped simulation
(about 100 s). τ = 4 is the temperature at which ``figures.exaggeration_theory`` finds slope > 1 at equal budgets,
so panels (b, d) show whether the two effects coincide; ``temperature=1.0`` gives plain self-distillation.

What the default run finds (test points, t̃ = T): the student wins by two or more test points in 6/30 (noise, T)
cells, all at noise ≥ 0.2 and T ≥ 800 (largest gain +0.018, noise 0.3, T = 3200, where the teacher has fallen
from 0.947 to 0.891), but never beats the best early-stopped teacher. The slope exceeds 1 only at noise ≤ 0.1
(up to 1.026) and falls with noise (0.87-0.93 at 0.4), through the correlation r of φ_st with φ_te (0.94-0.96 at
0.3-0.4 against 0.97-1.0 clean) more than through the spread ratio: the student drops the noise-fitted part of
the teacher's confidence, which dilutes the OLS slope. So in this kernel model C1 and C5 occur in *different*
regimes: exaggeration without gain on clean data, gain without exaggeration under heavy noise. With τ = 1 the
slope is below 1 in every cell (0.88-0.98) and the student wins in 7/30 cells (up to +0.024).

With 95% bootstrap intervals over the test points (docs/uncertainty.md §3a; τ = 4): the best student against
the best teacher is at best −0.002 [−0.009, +0.000] (noise 0, Bonferroni over the noise rates); the share of
exaggerating cells is 0.33 [0.17, 0.33]; and the mean slope is lower where the student wins, by −0.028
[−0.049, −0.005]: the two effects are separated beyond the test set's noise.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from theory.evidence import Claim, Estimate, at_least, greater_than
from theory.metrics import difference_interval, exaggeration, softmax
from theory.metrics.bootstrap import LEVEL, low_below_fractions, ols_slopes, percentile_interval, point_replicates
from theory.regimes import kernel_task, regime_map

NAME = "generalization"
KIND = "theory"
DESCRIPTION = (
    "kernel self-distillation with cross-entropy: heat maps over (T, t̃) and over label noise of the student's test "
    "accuracy gain (C5) and of the exaggeration slope (C1)"
)


@dataclass(frozen=True)
class Config:
    """Settings of the ``generalization`` figure (times in GD steps at η = 0.95 · 4/λ_max)."""

    dataset: str = "digits"  # "digits", "mnist1d" or "mixture"
    n_train: int | None = 800
    seed: int = 0  # data split and label noise
    temperature: float = 4.0
    noise_rates: tuple = (0.0, 0.1, 0.2, 0.3, 0.4)
    budgets: tuple = (100, 200, 400, 800, 1600, 3200)  # teacher budgets T and student budgets t̃
    map_noise: float = 0.3  # noise rate of panels (a, b)
    bins: int = 20
    replicates: int = 1000  # bootstrap replicates over test points of the C1 intervals (docs/uncertainty.md)

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """A smoke-test configuration (seconds)."""
        quick = cls(n_train=250, noise_rates=(0.0, 0.3), budgets=(50, 100, 200), map_noise=0.3, bins=10)
        return replace(quick, **overrides)


# --------------------------------------------------------------------------------------------- compute
def compute(config: Config = Config()) -> dict:
    """One regime map over (noise rate, T, t̃) at the configured τ; JSON-ready."""
    if config.map_noise not in config.noise_rates:
        raise ValueError(f"`map_noise` ({config.map_noise}) must be one of `noise_rates` {config.noise_rates}.")
    task = kernel_task(config.dataset, n_train=config.n_train, seed=config.seed)
    result = regime_map(task, teacher_steps=config.budgets, student_steps=config.budgets,
                        temperatures=[config.temperature], noise_rates=config.noise_rates, noise_seed=config.seed,
                        bins=config.bins, bottom=(20, min(100, task.data.n_train)), keep_logits=True)
    teacher, student = result.teacher, {key: value[:, :, 0] for key, value in result.student.items()}  # (N, T, U)
    gain = student["test_accuracy"] - teacher["test_accuracy"][:, :, None]
    diagonal = np.arange(len(config.budgets))
    row = config.noise_rates.index(config.map_noise)
    # paired bootstrap of each diagonal cell's gain over the test points (the same points for both models), at
    # the Bonferroni level 1 − 0.05/cells so that "some cell's interval lies above 0" holds at 95 % overall
    cells = len(config.noise_rates) * len(config.budgets)
    labels = task.data.y_test
    gain_ci = np.zeros((len(config.noise_rates), len(config.budgets), 2))
    for noise, t in np.ndindex(*gain_ci.shape[:2]):
        right = [np.argmax(result.logits["student_test"][noise, t, 0, t], axis=-1) == labels,
                 np.argmax(result.logits["teacher_test"][noise, t], axis=-1) == labels]
        gain_ci[noise, t] = difference_interval(right[0], right[1], level=1 - 0.05 / cells, seed=config.seed).bounds()
    return dict(
        gain_ci=gain_ci, gain_ci_level=1 - 0.05 / cells,
        best_ci=_best_intervals(result, teacher["test_accuracy"], student["test_accuracy"], labels, config.seed),
        exaggeration_ci=_exaggeration_intervals(result, gain[:, diagonal, diagonal], task.data.n_test, config),
        config=asdict(config), settings=result.settings,
        teacher_test_accuracy=teacher["test_accuracy"], teacher_train_accuracy=teacher["train_accuracy"],
        student_test_accuracy=student["test_accuracy"],
        map=dict(gain=gain[row], test_slope=student["test_slope"][row], train_slope=student["train_slope"][row],
                 test_frac_low_below=student["test_frac_low_below"][row]),
        noise=dict(gain=gain[:, diagonal, diagonal], test_slope=student["test_slope"][:, diagonal, diagonal],
                   train_slope=student["train_slope"][:, diagonal, diagonal],
                   test_frac_low_below=student["test_frac_low_below"][:, diagonal, diagonal],
                   test_correlation=student["test_correlation"][:, diagonal, diagonal],
                   test_spread_ratio=student["test_spread_ratio"][:, diagonal, diagonal]),
        best=dict(teacher=teacher["test_accuracy"].max(axis=1),
                  student=student["test_accuracy"].reshape(len(config.noise_rates), -1).max(axis=1)),
    )



def _wins(gain, n_test: int) -> np.ndarray:
    """The cells where the student wins: ahead by two or more test points (one point is not evidence)."""
    return np.rint(np.asarray(gain, dtype=float) * n_test) >= 2


def _best_intervals(result, teacher_accuracy, student_accuracy, labels, seed: int) -> dict:
    """Per noise rate: the best teacher budget and the best student cell (T, t̃), both chosen on the test accuracy,
    and the paired bootstrap interval over test points of (best student − best teacher) accuracy at the
    Bonferroni level 1 − 0.05/(noise rates) (so that "at some noise rate" holds at 95 % overall)."""
    rates, level = teacher_accuracy.shape[0], 1 - 0.05 / teacher_accuracy.shape[0]
    teacher_best = np.argmax(teacher_accuracy, axis=1)
    student_best = [np.unravel_index(np.argmax(a), a.shape) for a in student_accuracy]
    bounds = np.zeros((rates, 2))
    for noise in range(rates):
        t, u = student_best[noise]
        right_student = np.argmax(result.logits["student_test"][noise, t, 0, u], axis=-1) == labels
        right_teacher = np.argmax(result.logits["teacher_test"][noise, teacher_best[noise]], axis=-1) == labels
        bounds[noise] = difference_interval(right_student, right_teacher, level=level, seed=seed).bounds()
    return dict(gain=bounds, level=level, teacher_budget=teacher_best,
                student_cell=np.array(student_best, dtype=int).reshape(rates, 2))


def _exaggeration_intervals(result, gain, n_test: int, config: Config) -> dict:
    """One joint bootstrap over the test points (the same resampled points for every (noise, T) cell at t̃ = T):
    per replicate, each cell's OLS slope of φ(p_st) on φ(p_te) and its low-confidence-below fraction (as
    :func:`theory.metrics.exaggeration`), then the share of cells with slope > 1 and low below > 0.5, and the
    difference of mean slopes between the cells where the student wins (fixed by the point estimates) and the
    others. 95 % percentile intervals (docs/uncertainty.md, "kernel figures")."""
    rates, budgets = gain.shape
    fits = [exaggeration(softmax(result.logits["teacher_test"][i, t]),
                         softmax(result.logits["student_test"][i, t, 0, t]), bins=config.bins)
            for i, t in np.ndindex(rates, budgets)]
    x = np.stack([fit.phi_teacher for fit in fits])  # (cells, m)
    y = np.stack([fit.phi_student for fit in fits])
    wins = _wins(gain, n_test).ravel()
    cells = x.shape[0]

    def statistic(xb, yb):  # (b, m, cells) each -> (b, 2 · cells): every cell's slope, then its low-below fraction
        xb, yb = np.swapaxes(xb, 1, 2), np.swapaxes(yb, 1, 2)
        return np.concatenate([ols_slopes(xb, yb), low_below_fractions(xb, yb)], axis=1)

    # the same resampled test points for every cell (paired)
    value, draws = point_replicates(statistic, (x.T, y.T), replicates=config.replicates, seed=config.seed)
    point_slopes, point_lows = value[:cells], value[cells:]
    slopes, lows = draws[:, :cells], draws[:, cells:]  # (B, cells)
    share = np.mean((slopes > 1) & (lows > 0.5), axis=1)
    both = wins.any() and (~wins).any()
    difference = (slopes[:, wins].mean(axis=1) - slopes[:, ~wins].mean(axis=1)) if both else np.full(len(slopes), np.nan)
    point_difference = point_slopes[wins].mean() - point_slopes[~wins].mean() if both else np.nan
    slope_ci = np.array([percentile_interval(point_slopes[c], slopes[:, c]).bounds() for c in range(x.shape[0])])
    return dict(
        level=LEVEL, replicates=config.replicates, wins=wins.reshape(rates, budgets),
        share_value=float(np.mean((point_slopes > 1) & (point_lows > 0.5))),  # = the share of the stored cells
        share=list(percentile_interval(np.mean((point_slopes > 1) & (point_lows > 0.5)), share).bounds()),
        slope_difference=list(percentile_interval(point_difference, difference).bounds()) if both else None,
        test_slope=slope_ci.reshape(rates, budgets, 2))


def _exaggerates(data: dict) -> np.ndarray:
    """The (noise, T) cells at t̃ = T where the student exaggerates: test slope > 1 and low below > 0.5."""
    noise = data["noise"]
    return (np.asarray(noise["test_slope"], dtype=float) > 1) & (np.asarray(noise["test_frac_low_below"],
                                                                          dtype=float) > 0.5)


def _exaggerating_share(data: dict) -> float:
    return float(np.mean(_exaggerates(data)))


# --------------------------------------------------------------------------------------------- plot
def _heat_map(ax, values, centre, x_labels, y_labels, title, xlabel, ylabel, colour_label, figure):
    from matplotlib.colors import TwoSlopeNorm

    values = np.asarray(values, dtype=float)
    spread = max(float(np.nanmax(np.abs(values - centre))), 1e-6)
    image = ax.imshow(values, origin="lower", cmap="RdBu_r", aspect="auto",
                      norm=TwoSlopeNorm(vcenter=centre, vmin=centre - spread, vmax=centre + spread))
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{value:+.3f}" if centre == 0 else f"{value:.2f}", ha="center", va="center", fontsize=6,
                color="white" if abs(value - centre) > 0.6 * spread else "black")
    ax.set_xticks(range(len(x_labels)), x_labels)
    ax.set_yticks(range(len(y_labels)), y_labels)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    figure.colorbar(image, ax=ax, label=colour_label, shrink=0.85)


def plot(data: dict):
    """Four heat maps; returns a matplotlib Figure."""
    import matplotlib.pyplot as plt

    from .style import use

    use()
    config = data["config"]
    figure, axes = plt.subplots(2, 2, figsize=(9.5, 7.0), layout="constrained")
    budgets = [str(b) for b in config["budgets"]]
    noise = [f"{r:g}" for r in config["noise_rates"]]
    tau = f"τ={config['temperature']:g}"
    # rows of the (T, t̃) maps are teacher budgets, columns student budgets
    _heat_map(axes[0, 0], data["map"]["gain"], 0.0, budgets, budgets,
              f"(a) student − teacher test accuracy, noise {config['map_noise']:g}, {tau}", "student budget t̃",
              "teacher budget T", "accuracy gain", figure)
    _heat_map(axes[0, 1], data["map"]["test_slope"], 1.0, budgets, budgets,
              f"(b) test slope of φ_st on φ_te, noise {config['map_noise']:g}", "student budget t̃",
              "teacher budget T", "OLS slope", figure)
    _heat_map(axes[1, 0], data["noise"]["gain"], 0.0, budgets, noise,
              f"(c) student − teacher test accuracy, t̃ = T, {tau}", "budget T = t̃", "label-noise rate",
              "accuracy gain", figure)
    share = data.get("exaggeration_ci")  # the C1 share's interval, when stored
    share = "" if share is None else (
        f"\nslope > 1 & low below > 0.5: {Estimate(_exaggerating_share(data), *share['share']).show(2)} of cells")
    _heat_map(axes[1, 1], data["noise"]["test_slope"], 1.0, budgets, noise, f"(d) test slope, t̃ = T{share}",
              "budget T = t̃", "label-noise rate", "OLS slope", figure)
    figure.suptitle(f"{config['dataset']}, RBF kernel, n={data['settings']['n_train']}, cross-entropy GD, "
                    "self-distillation", fontsize=9)
    return figure


# --------------------------------------------------------------------------------------------- claims
def claims(data: dict) -> list:
    """C5 at equal budgets and against the best teacher; C1 at equal budgets; do they coincide?

    Evidence with 95 % bootstrap intervals over the test points (``best_ci``, ``exaggeration_ci``); a result
    stored before them falls back to the point rules (two test points, the share of cells as counted).
    """
    config = data["config"]
    gain, slope = np.asarray(data["noise"]["gain"]), np.asarray(data["noise"]["test_slope"])
    n_test = data["settings"]["n_test"]  # a difference of one test point is not evidence: ask for two

    def points(difference):
        return np.rint(np.asarray(difference) * n_test)

    wins = _wins(gain, n_test)
    best_teacher, best_student = np.asarray(data["best"]["teacher"]), np.asarray(data["best"]["student"])
    exaggerates = _exaggerates(data)
    where = np.argwhere(wins)
    setting = f"{config['dataset']}, n={data['settings']['n_train']}, τ={config['temperature']:g}"
    rates = config["noise_rates"]
    largest = np.unravel_index(gain.argmax(), gain.shape)
    if "gain_ci" in data:  # the cell whose interval lies highest (paired over test points, Bonferroni level)
        bounds = np.asarray(data["gain_ci"], dtype=float)
        level = data["gain_ci_level"]
        top = np.unravel_index(np.argmax(bounds[..., 0]), bounds.shape[:2])
        best_cell, criterion = Estimate(gain[top], *bounds[top]), greater_than(0.0)
        shown = (f"; highest interval {gain[top]:+.3f} [{bounds[top][0]:+.3f}, {bounds[top][1]:+.3f}] at noise "
                 f"{rates[int(top[0])]:g}, T={config['budgets'][int(top[1])]}")
    else:  # a result stored before intervals: the two-test-point rule
        best_cell, shown, criterion = Estimate.maximum(points(gain)), "", at_least(2.0)
    early = _early_stop(data, best_teacher, best_student, points)
    intervals = data.get("exaggeration_ci")
    if intervals is not None:  # one joint bootstrap over the test points, the same points for every cell
        share = Estimate(_exaggerating_share(data), *intervals["share"])
        both = wins.any() and (~wins).any()
        difference = Estimate(slope[wins].mean() - slope[~wins].mean(), *intervals["slope_difference"]) \
            if both and intervals["slope_difference"] is not None else Estimate(None)
        scheme = f"; {100 * intervals['level']:g}% bootstrap CI over test points, shared by all cells"
    else:  # a result stored before intervals: point estimates
        share = Estimate.share(exaggerates)
        difference = Estimate(slope[wins].mean() - slope[~wins].mean() if wins.any() and (~wins).any() else None)
        scheme = ""
    coincide = (f"mean slope where the student wins {slope[wins].mean():.3f}, elsewhere {slope[~wins].mean():.3f}; "
                f"difference {difference.show(3, '+')}" if wins.any() and (~wins).any()
                else "one of the two groups is empty")
    return [
        Claim(
            claim="C5",
            setting=f"{setting}, t̃ = T, every (noise, T) cell",
            statement="the student generalises better than its teacher",
            measured=f"student ahead by two or more test points in {int(wins.sum())}/{wins.size} cells; largest "
                     f"gain {gain.max():+.3f} at noise {rates[int(largest[0])]:g}, "
                     f"T={config['budgets'][int(largest[1])]}"
                     + (f"; noise rates {sorted({rates[int(i)] for i, _ in where})}" if where.size else "")
                     + shown,
            evidence=best_cell, criterion=criterion,
            criterion_text=f"some cell's gain > 0 (paired bootstrap CI at {100 * level:.2f}%: Bonferroni over "
                           f"{gain.size} cells)" if "gain_ci" in data else f"gain >= 2/{n_test} (two test points) "
                           "in at least one cell",
        ),
        Claim(claim="C5 (early stop)", setting=f"{setting}, each at its best budget, per noise rate", **early),
        Claim(
            claim="C1",
            setting=f"{setting}, test points, t̃ = T, every (noise, T) cell{scheme}",
            statement="the student exaggerates (slope > 1, below the teacher on low-confidence points)",
            measured=f"{int(exaggerates.sum())}/{exaggerates.size} cells, share {share.show(2)}; slopes from "
                     f"{slope.min():.3f} to {slope.max():.3f}",
            evidence=share, criterion=at_least(0.5),
            criterion_text="in at least half of the cells",
        ),
        Claim(
            claim="C1 with C5",
            setting=f"{setting}, t̃ = T; cells grouped by the point estimates of the gain{scheme}",
            statement="where the student generalises better it also exaggerates more",
            measured=coincide,
            evidence=difference,  # not run when either group is empty: nothing to compare
            criterion=greater_than(0.0),
            criterion_text="mean slope higher where the student wins",
        ),
    ]


def _early_stop(data: dict, best_teacher, best_student, points) -> dict:
    """The "C5 (early stop)" claim's statement, numbers and evidence (the rule of ``claims``)."""
    config, n_test = data["config"], data["settings"]["n_test"]
    measured = ("best teacher " + ", ".join(f"{a:.3f}" for a in best_teacher) + "; best student "
                + ", ".join(f"{b:.3f}" for b in best_student) + f" (noise {list(config['noise_rates'])})")
    statement = "distillation beats early stopping of the teacher"
    if "best_ci" not in data:  # a result stored before intervals: the two-test-point rule
        return dict(statement=statement, measured=measured,
                    evidence=Estimate.maximum(points(best_student - best_teacher)), criterion=at_least(2.0),
                    criterion_text=f"student's best >= teacher's best + 2/{n_test} (two test points) at some "
                                   "noise rate")
    bounds, level = np.asarray(data["best_ci"]["gain"], dtype=float), data["best_ci"]["level"]
    top = int(np.argmax(bounds[:, 0]))
    evidence = Estimate(best_student[top] - best_teacher[top], *bounds[top])
    return dict(
        statement=statement,
        measured=measured + f"; highest interval {evidence.show(3, '+')} at noise {config['noise_rates'][top]:g} "
                            "(best budgets chosen on the same test points: favours neither side systematically "
                            "but makes both optimistic)",
        evidence=evidence, criterion=greater_than(0.0),
        criterion_text=f"some noise rate's best-student − best-teacher accuracy > 0 (paired bootstrap CI over test "
                       f"points at {100 * level:.2f}%: Bonferroni over {len(bounds)} noise rates)")
