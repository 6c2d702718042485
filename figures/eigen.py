"""Figure ``eigen``: distillation as a regulariser in eigenspace (docs/maths.md §1, claim C3), on real embedded data.

A kernel model (RBF or linear kernel on scikit-learn's digits or MNIST-1D) trained by full-batch GD on the
summed squared loss, step η = 1/λ_max, one-hot targets Y (n, 10):

(a) the factor g(λ_k) that each procedure applies to eigendirection k: the teacher gd(η, T), self-distillation
    rounds g_T², g_T³, and Mobahi et al.'s constrained ridge rounds;
(b) the plane (progress on top directions, progress on bottom directions), both energy-weighted group
    progress (``theory.group_progress``): the one-hot model over time against students distilled from
    teachers of several budgets T. Curves are closed forms; markers are simulated GD (``theory.kernel_gd``,
    float64) projected the same way, so their agreement checks the closed form on real data;
(c) with symmetric label noise: training error (against the noisy labels) and test error (clean test labels)
    against the budget T of a teacher gd(η, T) and of its self-distilled student with the same budget,
    gd(η, T) * gd(η, T).

Above ``scale_above`` training points (``--n-train``) the figure takes the scale route (figures/scale.py,
docs/scale.md): top-k eigenpairs of a kernel operator instead of the dense eigh; (a) and (b) exact on the top k,
(c) top-k truncated predictors with a bound on the complement, simulated markers and Mobahi's rounds not run.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

import theory as th
from theory import kernels
from theory.evidence import Claim, Estimate, Exact, greater_than, less_than
from theory.metrics import difference_interval
from theory.metrics import filter_group_progress
from theory.metrics import matched_deficit

from . import scale

NAME = "eigen"
KIND = "theory"
DESCRIPTION = (
    "distillation as a regulariser in eigenspace: factors per direction, top-vs-bottom progress plane "
    "(closed form + simulated GD), errors under label noise"
)


@dataclass(frozen=True)
class Config:
    """Settings of the ``eigen`` figure.

    Times are in GD steps at η = 1/λ_max. ``unit`` below is 1/(ηλ_k) at k = ``top[1]``: the number of steps
    after which the last top direction has progress 1 − e⁻¹.
    """

    dataset: str = "digits"
    kernel: str = "rbf"  # "rbf" (lengthscale = median pairwise distance) or "linear"
    n_train: int | None = None  # None: every training point of the dataset
    seed: int = 0  # data split and label noise
    top: tuple = (0, 10)  # eigen-index range [start, stop) of the "top" group
    bottom: tuple = (20, 100)  # eigen-index range of the "bottom" group
    teacher_multiples: tuple = (0.5, 2.0, 8.0)  # teacher budgets T in units of `unit`
    horizon: float = 2.0  # panel (b) runs to horizon / (η λ_k) at the middle of the bottom group
    time_points: int = 60
    markers: int = 7  # simulated-GD markers per curve in panel (b)
    rounds: int = 3  # self-distillation rounds in panel (a), teacher included
    mobahi_rounds: int = 4
    mobahi_budget: float = 0.05  # ε = mobahi_budget · ‖Y‖² (summed squared residual allowed per round)
    label_noise: float = 0.3
    noise_horizon: float = 3.0  # panel (c) runs to noise_horizon / (η λ_k) at k = n/2 (at scale: the last top-k)
    # the scale route (figures/scale.py, docs/scale.md): above scale_above training points (None: never), the
    # top_k eigenpairs of a kernel operator to residuals ≤ scale_tol·λ_max replace the dense eigh
    scale_above: int | None = 8000
    top_k: int = 512
    scale_tol: float = 1e-6
    scale_test_points: int = 2000  # test points whose outputs are predicted at scale (the first ones)

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """A smoke-test configuration (a few seconds)."""
        return replace(cls(n_train=400, time_points=25, markers=4, bottom=(20, 60)), **overrides)


# --------------------------------------------------------------------------------------------- compute
def _kernels(config: Config, data: th.Dataset):
    x, x_test = data.x_train, data.x_test
    if config.kernel == "rbf":
        lengthscale = kernels.median_lengthscale(x)
        return kernels.rbf(x, lengthscale=lengthscale), kernels.rbf(x, x_test, lengthscale=lengthscale)
    if config.kernel == "linear":
        return kernels.linear(x), kernels.linear(x, x_test)
    raise ValueError(f"`kernel` must be 'rbf' or 'linear', got {config.kernel!r}.")


def _time_grid(stop: int, points: int) -> np.ndarray:
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, max(stop, 1), points))])).astype(int)


def _simulated_outputs(kernel, targets, learning_rate, steps):
    """Float64 kernel GD from 0 (``theory.kernel_gd``): the training outputs after each of ``steps``."""
    checkpoints, index = np.unique(np.asarray(steps, dtype=np.int64), return_inverse=True)
    run = th.kernel_gd(kernel, targets, learning_rate=learning_rate, steps=int(checkpoints[-1]), record_every=None,
                       checkpoints=checkpoints)
    return list(run.train[index])


def _simulate_markers(spectrum, kernel, targets, y, learning_rate, marker_steps, groups):
    """Simulated GD on each of ``targets`` (a list of (n, C) arrays) through ``marker_steps``.

    All runs share K, so they are stacked as columns of one simulation (one pass over K per step). Returns group
    progress with respect to the labels y, shape ``(len(targets), markers, groups)``.
    """
    stacked = _simulated_outputs(kernel, np.concatenate(targets, axis=1), learning_rate, marker_steps)
    points = [
        [[spectrum.group_progress(block, y, g) for g in groups] for block in np.split(outputs, len(targets), axis=1)]
        for outputs in stacked
    ]
    return np.transpose(np.asarray(points), (1, 0, 2))


def _errors(outputs, labels):
    return np.mean(np.argmax(outputs, axis=-1) != labels, axis=-1)


def _error_intervals(teacher_test, student_test, labels, teacher_error, student_error, seed: int) -> dict:
    """Paired 95 % bootstrap intervals over the test points (docs/uncertainty.md §3a) of the test error student −
    teacher, ``[low, high]``: at the longest budget (``final``) and each at its best budget after step 0
    (``best``, chosen on the same test points; ``best_index``). Outputs (budgets, m, C), ``labels`` (m,)."""
    def wrong(outputs, index):
        return np.argmax(outputs[index], axis=-1) != labels

    best = [1 + int(np.argmin(np.asarray(e)[1:])) for e in (teacher_error, student_error)]
    final = difference_interval(wrong(student_test, -1), wrong(teacher_test, -1), seed=seed)
    chosen = difference_interval(wrong(student_test, best[1]), wrong(teacher_test, best[0]), seed=seed)
    return dict(final=list(final.bounds()), best=list(chosen.bounds()), best_index=best)



def _budgets(config: Config, spectrum, data) -> tuple:
    """``(η, Y, energy per direction, [top, bottom] index groups, unit, teacher steps)`` shared by both routes: η =
    1/λ_max (at scale θ_1 ≤ λ_1 ≤ θ_1 + r_1, so η·λ_max ≤ 1 + r_1/θ_1 < 2), budgets in units of 1/(ηλ_k) at
    k = ``top[1]``."""
    eigenvalues = spectrum.eigenvalues
    learning_rate = 1.0 / eigenvalues[0]
    y = data.one_hot_train()
    energy = np.sum(spectrum.coordinates(y) ** 2, axis=-1)
    groups = [np.arange(*config.top), np.arange(*config.bottom)]
    unit = 1.0 / (learning_rate * eigenvalues[config.top[1]])
    return learning_rate, y, energy, groups, unit, [max(1, int(round(m * unit))) for m in config.teacher_multiples]


def compute(config: Config = Config()) -> dict:
    """All numbers of the figure (closed forms, simulated GD markers, errors), JSON-ready."""
    data = th.load_dataset(config.dataset, seed=config.seed, n_train=config.n_train)
    if scale.at_scale(data.n_train, config.scale_above):
        return _compute_at_scale(config, data)
    kernel, kernel_test = _kernels(config, data)
    spectrum = th.Spectrum.from_kernel(kernel)
    eigenvalues, n = spectrum.eigenvalues, spectrum.n
    if not (0 <= config.top[0] < config.top[1] <= config.bottom[0] < config.bottom[1] <= n):
        raise ValueError(f"need 0 <= top < bottom <= n = {n}, got top={config.top}, bottom={config.bottom}.")
    learning_rate, y, energy, groups, unit, teacher_steps = _budgets(config, spectrum, data)

    # (a) factors per direction
    teacher = th.gd(learning_rate, teacher_steps[1])
    rounds = th.chain(spectrum, y, [teacher] * config.rounds)
    mobahi = th.mobahi_rounds(spectrum, y, config.mobahi_rounds, epsilon=config.mobahi_budget * np.sum(y**2))
    panel_a = dict(
        eigenvalues=eigenvalues, teacher_steps=teacher_steps[1], rounds=rounds.factors(eigenvalues),
        mobahi_factors=mobahi.factors, mobahi_strengths=mobahi.strengths, mobahi_collapsed_at=mobahi.collapsed_at,
    )

    # (b) top-vs-bottom plane: closed-form curves, simulated markers
    middle = (config.bottom[0] + config.bottom[1]) // 2
    grid = _time_grid(int(round(config.horizon / (learning_rate * eigenvalues[middle]))), config.time_points)
    marker_steps = grid[np.unique(np.round(np.geomspace(1, len(grid) - 1, config.markers)).astype(int))]
    onehot = filter_group_progress(th.gd(learning_rate, grid), eigenvalues, energy, groups)
    teachers = _simulated_outputs(kernel, y, learning_rate, teacher_steps)
    markers = _simulate_markers(spectrum, kernel, [y, *teachers], y, learning_rate, marker_steps, groups)
    closed = [np.stack(filter_group_progress(th.gd(learning_rate, marker_steps), eigenvalues, energy, groups), -1)]
    students = []
    for i, steps in enumerate(teacher_steps):
        curves = filter_group_progress(th.gd(learning_rate, grid) * th.gd(learning_rate, steps), eigenvalues,
                                       energy, groups)
        closed.append(np.stack(filter_group_progress(th.gd(learning_rate, marker_steps) * th.gd(learning_rate, steps),
                                                     eigenvalues, energy, groups), -1))
        students.append(dict(
            teacher_steps=steps, top=curves[0], bottom=curves[1], marker_top=markers[i + 1, :, 0],
            marker_bottom=markers[i + 1, :, 1], bottom_deficit=matched_deficit(*onehot, *curves),
        ))
    discrepancy = float(np.max(np.abs(markers - np.stack(closed))))
    onehot_markers = markers[0]
    panel_b = dict(
        steps=grid, onehot_top=onehot[0], onehot_bottom=onehot[1], marker_steps=marker_steps,
        onehot_marker_top=onehot_markers[:, 0], onehot_marker_bottom=onehot_markers[:, 1], students=students,
        closed_form_vs_simulation_max_abs=discrepancy,
    )

    # (c) errors under label noise against the training budget: teacher gd(T), student gd(T) * gd(T)
    noisy = data.with_label_noise(config.label_noise, seed=config.seed)
    long_grid = _time_grid(int(round(config.noise_horizon / (learning_rate * eigenvalues[n // 2]))), config.time_points)
    predict_fn = th.make_predictor(spectrum, noisy.one_hot_train(), k_train_test=kernel_test)
    budgets = th.gd(learning_rate, long_grid)
    panel_c = dict(steps=long_grid, label_noise=config.label_noise, realised_noise=noisy.realised_noise_rate)
    tests = {}
    for role, run in (("teacher", predict_fn(budgets)), ("student", predict_fn(budgets * budgets))):
        panel_c[f"{role}_train_error_noisy"] = _errors(run.train, noisy.y_train)
        panel_c[f"{role}_train_error_clean"] = _errors(run.train, noisy.y_train_clean)
        panel_c[f"{role}_test_error"] = _errors(run.test, data.y_test)
        panel_c[f"{role}_noisy_points_memorised"] = np.mean(
            np.argmax(run.train[:, noisy.noisy_mask], -1) == noisy.y_train[noisy.noisy_mask], axis=-1
        )
        tests[role] = run.test
    panel_c["test_error_difference_ci"] = _error_intervals(
        tests["teacher"], tests["student"], data.y_test, panel_c["teacher_test_error"], panel_c["student_test_error"],
        config.seed)

    return dict(
        config=asdict(config), n_train=n, n_test=data.n_test, learning_rate=learning_rate, unit_steps=unit,
        kernel_rank=spectrum.rank, a=panel_a, b=panel_b, c=panel_c,
    )


def _compute_at_scale(config: Config, data: th.Dataset) -> dict:
    """The same panels from the top-k eigenpairs of a kernel operator (figures/scale.py; docs/scale.md).

    (a) the factors of the top k directions; (b) the closed-form plane (no simulated markers: one GD step is
    one pass over K); (c) the top-k truncated predictors' errors (train outputs with the bound on what the
    complement adds; test outputs on the first ``scale_test_points`` test points), budgets up to
    ``noise_horizon`` / (η λ_k) at the last direction held. Mobahi's ridge rounds need the whole spectrum.
    """
    x = data.x_train
    params = scale.kernel_parameters(config.kernel, x, config.seed)
    op = kernels.operator(x, kernel=config.kernel, **params)
    spectrum, info = scale.top_spectrum(op, config.top_k, config.scale_tol, config.seed)
    eigenvalues, n, k = spectrum.eigenvalues, spectrum.n, spectrum.eigenvalues.size
    if not (0 <= config.top[0] < config.top[1] <= config.bottom[0] < config.bottom[1] <= k):
        raise ValueError(f"at scale the groups must lie in the top_k = {k} directions held, got top={config.top}, "
                         f"bottom={config.bottom}.")
    learning_rate, y, energy, groups, unit, teacher_steps = _budgets(config, spectrum, data)

    teacher = th.gd(learning_rate, teacher_steps[1])
    rounds = th.chain(spectrum, y, [teacher] * config.rounds)
    panel_a = dict(eigenvalues=eigenvalues, teacher_steps=teacher_steps[1], rounds=rounds.factors(eigenvalues),
                   mobahi_factors=[], mobahi_strengths=[], mobahi_collapsed_at=None)

    middle = (config.bottom[0] + config.bottom[1]) // 2
    grid = _time_grid(int(round(config.horizon / (learning_rate * eigenvalues[middle]))), config.time_points)
    onehot = filter_group_progress(th.gd(learning_rate, grid), eigenvalues, energy, groups)
    students = []
    for steps in teacher_steps:
        curves = filter_group_progress(th.gd(learning_rate, grid) * th.gd(learning_rate, steps), eigenvalues,
                                       energy, groups)
        students.append(dict(teacher_steps=steps, top=curves[0], bottom=curves[1], marker_top=[], marker_bottom=[],
                             bottom_deficit=matched_deficit(*onehot, *curves)))
    panel_b = dict(steps=grid, onehot_top=onehot[0], onehot_bottom=onehot[1], marker_steps=[], onehot_marker_top=[],
                   onehot_marker_bottom=[], students=students, closed_form_vs_simulation_max_abs=float("nan"))

    noisy = data.with_label_noise(config.label_noise, seed=config.seed)
    m = min(config.scale_test_points, data.n_test)
    cross = scale.cross_kernel(config.kernel, x, data.x_test[:m], params)
    long_grid = _time_grid(int(round(config.noise_horizon / (learning_rate * eigenvalues[-1]))), config.time_points)
    predict_fn = th.make_predictor(spectrum, noisy.one_hot_train(), k_train_test=cross)
    budgets = th.gd(learning_rate, long_grid)
    panel_c = dict(steps=long_grid, label_noise=config.label_noise, realised_noise=noisy.realised_noise_rate,
                   test_points=m)
    tests = {}
    for role, filter in (("teacher", budgets), ("student", budgets * budgets)):
        run = predict_fn(filter)
        tests[role] = run.test
        panel_c[f"{role}_train_error_noisy"] = _errors(run.train, noisy.y_train)
        panel_c[f"{role}_train_error_clean"] = _errors(run.train, noisy.y_train_clean)
        panel_c[f"{role}_test_error"] = _errors(run.test, data.y_test[:m])
        panel_c[f"{role}_noisy_points_memorised"] = np.mean(
            np.argmax(run.train[:, noisy.noisy_mask], -1) == noisy.y_train[noisy.noisy_mask], axis=-1)
        panel_c[f"{role}_complement_bound"] = scale.truncation_bound(filter, spectrum, noisy.one_hot_train())
    panel_c["test_error_difference_ci"] = _error_intervals(
        tests["teacher"], tests["student"], data.y_test[:m], panel_c["teacher_test_error"],
        panel_c["student_test_error"], config.seed)

    info.update(
        bounded="panel (c): outputs of the top-k truncation; ‖what the complement adds‖ / ‖outputs‖ ≤ "
                "*_complement_bound per budget (train); test outputs: truncation only (g/λ is not small on the "
                f"complement); test error on the first {m} test points",
        not_run="panel (a) Mobahi ridge rounds (their residual budget sums over every direction); panel (b) "
                "simulated GD markers (one step = one pass over K)",
        lengthscale=params.get("lengthscale"))
    return dict(config=asdict(config), n_train=n, n_test=data.n_test, learning_rate=learning_rate, unit_steps=unit,
                kernel_rank=spectrum.rank, a=panel_a, b=panel_b, c=panel_c, scale=info)


# --------------------------------------------------------------------------------------------- plot
def plot(data: dict):
    """Three panels (a) factors, (b) plane, (c) errors; returns a matplotlib Figure."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours
    from .style import use

    use()
    figure, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(10.5, 3.3), layout="constrained")
    a, b, c = data["a"], data["b"], data["c"]
    config = data["config"]

    index = np.arange(1, len(a["eigenvalues"]) + 1)
    for r, factors in enumerate(a["rounds"]):
        label = f"teacher, gd T={a['teacher_steps']}" if r == 0 else f"round {r + 1} (g_T^{r + 1})"
        ax_a.plot(index, factors, color=colours["rounds"][r % 4] if r else colours["teacher"], label=label)
    for r, factors in enumerate(a["mobahi_factors"]):
        ax_a.plot(index, factors, color=colours["mobahi"], lw=1.0, ls=(0, (1 + r, 1.5)),
                  label="Mobahi ridge rounds" if r == 0 else None)
    ax_a.set(xscale="log", xlabel="eigendirection k (descending λ)", ylabel="factor g(λ_k)",
             title="(a) factor per eigendirection", ylim=(-0.02, 1.02))
    ax_a.axvspan(config["top"][0] + 1, config["top"][1], color="0.9", zorder=0)
    ax_a.axvspan(config["bottom"][0] + 1, config["bottom"][1], color="0.95", zorder=0)
    ax_a.legend(loc="lower left")

    ax_b.plot(b["onehot_top"], b["onehot_bottom"], color=colours["onehot"], label="one-hot GD")
    ax_b.plot(b["onehot_marker_top"], b["onehot_marker_bottom"], "o", mfc="white", mec=colours["onehot"], ms=4)
    for i, student in enumerate(b["students"]):
        colour = colours["rounds"][i % 4]
        ax_b.plot(student["top"], student["bottom"], color=colour, label=f"student, teacher T={student['teacher_steps']}")
        ax_b.plot(student["marker_top"], student["marker_bottom"], "o", mfc="white", mec=colour, ms=4)
    if len(b["marker_steps"]):  # none at scale
        ax_b.plot([], [], "o", mfc="white", mec="k", ms=4, label="simulated GD")
    ax_b.set(yscale="log", ylim=(1e-3, 1.05), xlim=(0, 1.02),
             xlabel=f"progress, top directions {tuple(config['top'])}",
             ylabel=f"progress, bottom directions {tuple(config['bottom'])}",
             title="(b) students fit bottom directions later")
    ax_b.legend(loc="upper left")

    for role in ("teacher", "student"):
        colour = colours[role]
        ax_c.plot(c["steps"][1:], c[f"{role}_test_error"][1:], color=colour, label=f"{role}: test")
        ax_c.plot(c["steps"][1:], c[f"{role}_train_error_noisy"][1:], color=colour, ls="--", label=f"{role}: train (noisy labels)")
    ax_c.set(xscale="log", xlabel="budget T (GD steps)", ylabel="classification error", ylim=(0, 1),
             title=f"(c) {int(round(100 * c['label_noise']))}% label noise: gd(T) vs gd(T)·gd(T)")
    ax_c.legend(loc="upper right")
    if "test_error_difference_ci" in c:  # paired 95 % bootstrap intervals over the test points
        final, best = _c5_estimates(c)
        ax_c.text(0.98, 0.6, f"student − teacher test error (95% CI)\nlongest T: {final.show(3, '+')}\n"
                  f"each at its best T: {best.show(3, '+')}", transform=ax_c.transAxes, ha="right", va="top",
                  fontsize=6)
    figure.suptitle(
        f"{config['dataset']}, {config['kernel']} kernel, n={data['n_train']}, η=1/λ_max", fontsize=9
    )
    if "scale" in data:  # the scale route: say what is exact, what bounded and what was not run
        info = data["scale"]
        figure.suptitle(
            f"{config['dataset']}, {config['kernel']} kernel, n={data['n_train']}, η=1/θ_1; scale route: top-{info['k']} "
            f"eigenpairs from a kernel operator, max residual {info['max_residual_over_lambda_max']:.1e}·λ_max, "
            f"λ_(k+1) ≤ {info['lambda_next_bound_over_lambda_max']:.1e}·λ_max", fontsize=8)
        ax_a.text(0.98, 0.98, "exact (top-k)\nMobahi rounds: not run at scale\n(they need the whole spectrum)",
                  transform=ax_a.transAxes, ha="right", va="top", fontsize=6)
        ax_b.text(0.98, 0.02, "closed form, exact (top-k)\nsimulated GD markers: not run at scale\n(one step = one pass over K)",
                  transform=ax_b.transAxes, ha="right", va="bottom", fontsize=6)
        bound = max(np.nanmax(np.asarray(c["teacher_complement_bound"], dtype=float)),
                    np.nanmax(np.asarray(c["student_complement_bound"], dtype=float)))
        ax_c.text(0.02, 0.02, f"bounded: top-{info['k']} truncation; complement adds ≤ {bound:.2g}×‖train outputs‖\n"
                  f"test error on {c['test_points']} test points (truncation only)",
                  transform=ax_c.transAxes, ha="left", va="bottom", fontsize=6)
    return figure


# --------------------------------------------------------------------------------------------- claims
def _c5_estimates(c: dict) -> tuple:
    """Student − teacher test error at the longest budget and each at its best budget, as Estimates with the
    stored paired intervals (point estimates for a result stored before them)."""
    teacher, student = np.asarray(c["teacher_test_error"]), np.asarray(c["student_test_error"])
    ci = c.get("test_error_difference_ci") or {}
    return (Estimate(float(student[-1] - teacher[-1]), *ci.get("final", ())),
            Estimate(float(student[1:].min() - teacher[1:].min()), *ci.get("best", ())))


def claims(data: dict) -> list:
    """Verdicts that the numbers support, with the numbers."""
    b, c = data["b"], data["c"]
    deficits = np.concatenate([np.asarray(s["bottom_deficit"], dtype=float) for s in b["students"]])
    interior = deficits[np.abs(deficits) > 1e-12]  # closed-form deficits: |d| ≤ 1e-12 is round-off
    teacher_test, student_test = np.asarray(c["teacher_test_error"]), np.asarray(c["student_test_error"])
    teacher_final, student_final = float(teacher_test[-1]), float(student_test[-1])
    noise = int(round(100 * c["label_noise"]))
    final, best = _c5_estimates(c)
    ci = c.get("test_error_difference_ci")
    scheme = "" if ci is None else "; paired 95% bootstrap CI over test points (one deterministic kernel model)"
    return [
        Claim(
            claim="C3",
            setting=f"{data['config']['dataset']}, {data['config']['kernel']} kernel, closed form",
            statement="at equal progress on top directions, the student has less progress on bottom directions",
            measured=f"min deficit {interior.min() if interior.size else float('nan'):.3g}, "
            f"max {interior.max() if interior.size else float('nan'):.3g} over {interior.size} matched points",
            evidence=Exact(Estimate.minimum(interior).value, tolerance=1e-12), criterion=greater_than(0.0),
            criterion_text="deficit > 0 at every matched point",
        ),
        Claim(
            claim="closed form",
            setting="simulated float64 kernel GD at the markers of panel (b)",
            statement="closed-form group progress equals simulated GD",
            measured=f"max |closed form - simulation| = {b['closed_form_vs_simulation_max_abs']:.2e}",
            evidence=Estimate(b["closed_form_vs_simulation_max_abs"]), criterion=less_than(1e-8),
            criterion_text="< 1e-8",
        ),
        Claim(
            claim="C5",
            setting=f"{noise}% label noise, equal budgets, longest budget T{scheme}",
            statement="the student generalises better than its (over-trained) teacher",
            measured=f"test error teacher {teacher_final:.3f}, student {student_final:.3f}; student − teacher "
                     f"{final.show(3, '+')}",
            evidence=final, criterion=less_than(0.0),
            criterion_text="student test error < teacher test error",
        ),
        Claim(
            claim="C5 (early stop)",
            setting=f"{noise}% label noise, each at its best budget{scheme}",
            statement="distillation beats early stopping of the teacher",
            measured=f"best test error teacher {teacher_test[1:].min():.3f}, student {student_test[1:].min():.3f}; "
                     f"student − teacher {best.show(3, '+')}" + ("" if ci is None else
                     " (best budgets chosen on the same test points: favours neither side systematically but makes "
                     "both optimistic)"),
            evidence=best, criterion=less_than(0.0),
            criterion_text="student's best < teacher's best",
        ),
    ]
