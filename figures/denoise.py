"""Figure ``denoise``: distillation as a gradient denoiser (docs/maths.md §5, claim C4), on data with known p*.

A kernel model (RBF kernel, lengthscale a multiple of the median pairwise distance) on a synthetic dataset
whose Bayes class probabilities p*(x) are exact (``theory.data``). Squared loss, summed, full-batch GD
at η = 1/λ_max; every trajectory is a closed form (``theory.predict``). The teacher is one-hot GD stopped at
the budget T with the lowest squared error on fresh validation points drawn from the generating model.

(a) per-point label noise E‖e_y − q‖² against the Bayes confidence max_c p*_c(x): predicted 1 − ‖p*‖² (the
    band spans the values possible at a given max p* for C classes) and measured by Monte Carlo over label
    draws, for the Bayes teacher q = p* and the trained teacher q = F_T (predicted 1 − ‖p*‖² + ‖p* − q‖²).
    For an RBF kernel K_ii = 1, so this is also the squared RKHS norm of the per-point gradient noise.
(b) trace of the covariance of the minibatch gradient (of the mean loss: tr Cov Ĝ_b / n²) against batch
    size b for one-hot, Bayes and trained-teacher targets, at a mid-training state; lines are the closed
    form of ``theory.denoise.minibatch_gradient_variance``, markers Monte Carlo over label and batch draws.
(c) label-noise energy per eigendirection of K in target space, E‖u_kᵀ(e_y − p*)‖² (closed form and Monte
    Carlo), beside the energy of the noise-free targets ‖u_kᵀP*‖² and the trained teacher's own error
    ‖u_kᵀ(P* − F_T)‖², averaged in log-spaced bins of k. Target space is plotted because it is what every
    spectral filter acts on (F = g(K) Y); the function-space energy of the gradient noise is λ_k² times it and
    is reported in the JSON.
(d) test accuracy over training of students on (i) one-hot labels, (ii) Bayes probabilities, (iii) the
    teacher's outputs, (iv) one-hot labels then the teacher's outputs from step s (late distillation).
(e) distance to the Bayes probabilities, mean ‖F_i − p*_i‖², on hard (lowest max p*) and easy (highest)
    training points over training.
(f) variance of the one-hot and the Bayes-distilled empirical risk of the fixed teacher against sample
    size (Menon et al. 2021): Monte Carlo markers, predicted lines.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy.spatial.distance import pdist

import theory as th
from theory import denoise, kernels
from theory import data as synthetic  # the synthetic datasets live in theory.data
from theory.data import one_hot
from theory.metrics.bootstrap import REPLICATES

from .denoise_evidence import TARGETS, claims, interval, intervals

__all__ = ["NAME", "KIND", "DESCRIPTION", "Config", "compute", "plot", "claims"]

NAME = "denoise"
KIND = "theory"
DESCRIPTION = (
    "distillation as a gradient denoiser (C4) on data with known p*: per-point label noise, minibatch "
    "gradient variance vs batch size, noise per eigendirection, one-hot / Bayes / teacher / late students"
)


@dataclass(frozen=True)
class Config:
    """Settings of the ``denoise`` figure (times in GD steps at η = 1/λ_max)."""

    dataset: str = "gaussian-mixture"  # a synthetic dataset with known p*: "gaussian-mixture" or "logistic"
    seed: int = 0  # data, validation, Monte Carlo
    n_train: int = 800
    n_test: int = 4000
    num_classes: int = 3
    dim: int = 4
    separation: float = 2.5
    lengthscale_factor: float = 0.5  # RBF lengthscale = factor × median pairwise distance of the inputs
    horizon: float = 3.0  # trajectories run to horizon / (η λ_k) at k = n/2
    time_points: int = 60
    validation: int = 2000  # fresh points from the model, to pick the teacher's budget T
    switch_multiple: float = 10.0  # late distillation switches to the teacher at step switch_multiple × T
    state_fraction: float = 0.5  # panel (b): gradients at the one-hot model after state_fraction × T steps
    batch_points: int = 7  # panel (b): batch sizes, geometric from 1 to n
    label_draws: int = 400  # panel (a): label draws per point
    gradient_draws: int = 1000  # panel (b): draws per batch size
    direction_draws: int = 200  # panel (c): label draws
    direction_bins: int = 16
    hard_fraction: float = 0.25  # hard / easy = lowest / highest fraction of max p*
    risk_sizes: tuple = (16, 64, 256, 1024)
    risk_pool: int = 20000
    risk_repeats: int = 4000
    replicates: int = REPLICATES  # bootstrap replicates of the intervals over points

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """A smoke-test configuration (a few seconds)."""
        return replace(cls(n_train=300, n_test=1000, time_points=25, validation=500, batch_points=5,
                           label_draws=200, gradient_draws=200, direction_draws=100, direction_bins=10,
                           risk_sizes=(16, 64, 256), risk_pool=4000, risk_repeats=1000), **overrides)


# --------------------------------------------------------------------------------------------- compute
def _load(config: Config) -> synthetic.SyntheticDataset:
    if config.dataset not in synthetic.LOADERS:
        known = ", ".join(repr(name) for name in synthetic.LOADERS)
        raise ValueError(f"the denoise figure needs known Bayes probabilities: dataset must be one of {known}, "
                         f"got {config.dataset!r}.")
    return synthetic.LOADERS[config.dataset](
        seed=config.seed, n_train=config.n_train, n_test=config.n_test, num_classes=config.num_classes,
        dim=config.dim, separation=config.separation,
    )


def _time_grid(stop: int, points: int) -> np.ndarray:
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, max(stop, 1), points))])).astype(int)


def _noise_band(num_classes: int, points: int = 101):
    """Range of 1 − ‖p‖² over probability vectors with max_c p_c = m, for m in [1/C, 1].

    Largest: the rest spread evenly, 1 − m² − (1 − m)²/(C − 1). Smallest: as many classes at m as fit, the
    remainder r = 1 − k m on one class (k = ⌊1/m⌋), 1 − k m² − r².
    """
    confidence = np.linspace(1.0 / num_classes, 1.0, points)
    upper = 1.0 - confidence**2 - (1.0 - confidence) ** 2 / max(num_classes - 1, 1)
    full = np.floor(1.0 / confidence + 1e-12)
    lower = 1.0 - full * confidence**2 - np.clip(1.0 - full * confidence, 0.0, None) ** 2
    return confidence, lower, upper


def _binned(x, values, bins: int):
    """Equal-count bins of x: mean x, mean values, standard error of the values."""
    groups = np.array_split(np.argsort(x, kind="stable"), bins)
    return (np.array([x[g].mean() for g in groups]), np.array([values[g].mean() for g in groups]),
            np.array([values[g].std(ddof=1) / np.sqrt(g.size) for g in groups]))


def _log_bins(values, bins: int):
    """Means of per-direction values over log-spaced groups of the direction index k = 1..n."""
    edges = np.unique(np.round(np.geomspace(1, values.shape[-1] + 1, bins + 1)).astype(int)) - 1
    centres = np.sqrt(edges[:-1] + 1.0) * np.sqrt(edges[1:].astype(float))  # geometric mid of k = start+1..stop
    return centres, np.stack([values[..., a:b].mean(axis=-1) for a, b in zip(edges[:-1], edges[1:])], -1)


def _trajectory_metrics(outputs_train, outputs_test, data, hard, easy):
    """Accuracy, agreement with the Bayes classifier, distance to p* (test); distance to p* on hard/easy training points."""
    test_distance = np.sum((outputs_test - data.p_star_test) ** 2, axis=-1)
    train_distance = np.sum((outputs_train - data.p_star_train) ** 2, axis=-1)
    return dict(
        test_accuracy=np.mean(np.argmax(outputs_test, -1) == data.y_test, axis=-1),
        test_bayes_agreement=np.mean(np.argmax(outputs_test, -1) == np.argmax(data.p_star_test, -1), axis=-1),
        test_distance=test_distance.mean(axis=-1),
        hard_distance=train_distance[..., hard].mean(axis=-1),
        easy_distance=train_distance[..., easy].mean(axis=-1),
    )


def _zero_mean_statistic(p_star, draws: int, rng):
    """R = draws · Σ_i ‖ε̄_i‖² / Σ_i (1 − ‖p*_i‖²), ε̄_i the mean of e_y − p*_i over draws: 1 if ε has mean 0."""
    labels = synthetic.resample_labels(p_star, rng, draws=draws)
    mean_noise = np.stack([np.mean(labels == c, axis=0) for c in range(p_star.shape[1])], -1) - p_star
    per_point = draws * np.sum(mean_noise**2, axis=1)
    expected = np.sum(1.0 - np.sum(p_star**2, axis=1))
    return float(per_point.sum() / expected), float(np.sqrt(per_point.size) * per_point.std(ddof=1) / expected)


def _noise_panel(config, p_star, teacher_train, hard, easy, rng) -> dict:
    """(a) per-point label noise, predicted and Monte Carlo, for the Bayes and the trained teacher."""
    confidence = np.max(p_star, axis=1)
    measured, error = denoise.monte_carlo_label_noise_norm(p_star, draws=config.label_draws, seed=rng)
    measured_t, error_t = denoise.monte_carlo_label_noise_norm(p_star, teacher_train, draws=config.label_draws,
                                                               seed=rng)
    predicted, predicted_t = denoise.label_noise_norm(p_star), denoise.label_noise_norm(p_star, teacher_train)
    band = _noise_band(p_star.shape[1])
    bins = max(4, p_star.shape[0] // 60)
    groups = np.array_split(np.argsort(confidence, kind="stable"), bins)  # equal-count bins of max p*
    binned_z = np.array([(measured[g].mean() - predicted[g].mean()) / (np.sqrt(np.sum(error[g] ** 2)) / g.size)
                         for g in groups])
    zero_mean, zero_mean_error = _zero_mean_statistic(p_star, config.label_draws, rng)
    return dict(
        confidence=confidence, predicted=predicted, measured=measured, standard_error=error,
        z_scores=(measured - predicted) / np.where(error > 0, error, np.inf), binned_z_scores=binned_z,
        teacher_predicted=predicted_t, teacher_measured=measured_t, teacher_standard_error=error_t,
        teacher_binned=dict(zip(("confidence", "measured", "standard_error"), _binned(confidence, measured_t, bins))),
        teacher_binned_predicted=_binned(confidence, predicted_t, bins)[1],
        band_confidence=band[0], band_lower=band[1], band_upper=band[2],
        hard_mean=float(predicted[hard].mean()), easy_mean=float(predicted[easy].mean()),
        hard_threshold=float(confidence[hard].max()), easy_threshold=float(confidence[easy].min()),
        zero_mean_ratio=zero_mean, zero_mean_ratio_error=zero_mean_error,
    )


def _variance_panel(config, spectrum, kernel, state, p_star, teacher_train, rng) -> dict:
    """(b) minibatch gradient variance against batch size at ``state`` (closed form, Monte Carlo) and at 0."""
    n = spectrum.n
    batch_sizes = np.unique(np.round(np.geomspace(1, n, config.batch_points)).astype(int))
    closed = denoise.minibatch_gradient_variance(kernel, state, p_star, teacher_train, batch_sizes=batch_sizes)
    at_init = denoise.minibatch_gradient_variance(kernel, np.zeros_like(state), p_star, teacher_train,
                                                  batch_sizes=batch_sizes)
    features = spectrum.eigenvectors * np.sqrt(spectrum.eigenvalues)  # ΦΦᵀ = K: the kernel model as a linear one
    sampled = denoise.monte_carlo_gradient_variance(features, state, p_star, teacher_train, batch_sizes=batch_sizes,
                                                    draws=config.gradient_draws, seed=rng)
    scale = 1.0 / n**2  # variance of the mean-loss gradient Ĝ_b / n

    def removed(result, name):
        error = result.variance[name] + (result.teacher_bias if name == "teacher" else 0.0)
        return 1.0 - error / result.variance["onehot"]

    return dict(
        batch_sizes=batch_sizes, label_noise=closed.label_noise * scale, teacher_bias=closed.teacher_bias * scale,
        closed={k: v * scale for k, v in closed.variance.items()},
        initial={k: v * scale for k, v in at_init.variance.items()},
        monte_carlo={k: v * scale for k, v in sampled.variance.items()},
        monte_carlo_standard_error={k: v * scale for k, v in sampled.standard_error.items()},
        removed_by_bayes=removed(closed, "bayes"), removed_by_teacher=removed(closed, "teacher"),
        removed_by_bayes_initial=removed(at_init, "bayes"), removed_by_teacher_initial=removed(at_init, "teacher"),
        z_scores={k: (sampled.variance[k] - closed.variance[k])
                  / np.where(sampled.standard_error[k] > 0, sampled.standard_error[k], np.inf)
                  for k in closed.variance},
    )


def _direction_panel(config, spectrum, p_star, teacher_train, hard, rng) -> dict:
    """(c) label-noise energy per eigendirection (closed form, Monte Carlo), signal and teacher error."""
    n = spectrum.n
    directions = denoise.noise_per_direction(spectrum, p_star, teacher_train)
    noise_mc, noise_mc_error = denoise.monte_carlo_noise_per_direction(spectrum, p_star, draws=config.direction_draws,
                                                                       seed=rng)
    centres, binned = _log_bins(np.stack([directions.noise, noise_mc, directions.signal, directions.bias,
                                          directions.function]), config.direction_bins)
    top = max(1, n // 10)
    return dict(
        index=centres, noise=binned[0], noise_monte_carlo=binned[1], signal=binned[2], teacher_bias=binned[3],
        function=binned[4], top_directions=top,
        share_top=dict(noise=directions.share(slice(0, top)), signal=directions.share(slice(0, top), "signal"),
                       teacher_bias=directions.share(slice(0, top), "bias"),
                       function=directions.share(slice(0, top), "function"), uniform=top / n),
        # Σ_{i hard, k top} u_ik² / top: the share of the top directions' weight on hard points (vs their fraction)
        hard_weight_in_top=float(np.sum(spectrum.eigenvectors[hard, :top] ** 2) / top),
        hard_fraction=float(hard.mean()),
        monte_carlo_max_abs_z=float(np.max(np.abs(noise_mc - directions.noise) / noise_mc_error)),
    )


def _risk_panel(config, model, predictor, rng) -> dict:
    """(f) one-hot vs Bayes-distilled risk variance of the fixed ``predictor`` on a pool of fresh points."""
    x_pool, _, p_pool = model.sample(config.risk_pool, rng)
    losses = denoise.per_class_losses(predictor(x_pool))
    risks = [denoise.monte_carlo_risk_variance(losses, p_pool, sample_size=int(size), repeats=config.risk_repeats,
                                               seed=rng).as_dict() for size in config.risk_sizes]
    return {key: np.array([risk[key] for risk in risks]) for key in risks[0]}


def compute(config: Config = Config()) -> dict:
    """All numbers of the figure, JSON-ready."""
    data = _load(config)
    model, n, num_classes = data.model, data.n_train, data.num_classes
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([config.seed, 5]).spawn(5)]
    x_validation, y_validation, _ = model.sample(config.validation, streams[0])
    lengthscale = config.lengthscale_factor * float(np.median(pdist(data.x_train)))
    kernel = kernels.rbf(data.x_train, lengthscale=lengthscale)
    cross = kernels.rbf(data.x_train, np.concatenate([data.x_test, x_validation]), lengthscale=lengthscale)
    spectrum = th.Spectrum.from_kernel(kernel)
    eigenvalues = spectrum.eigenvalues
    learning_rate = 1.0 / eigenvalues[0]
    labels, p_star = data.one_hot_train(), data.p_star_train
    # one predictor for both target sets: columns [one-hot | Bayes] share every filter
    predict_fn = th.make_predictor(spectrum, np.concatenate([labels, p_star], axis=1), k_train_test=cross)
    split = data.n_test
    grid = _time_grid(int(round(config.horizon / (learning_rate * eigenvalues[n // 2]))), config.time_points)

    # teacher: one-hot GD stopped at the lowest validation squared error against fresh labels
    runs = predict_fn(th.gd(learning_rate, grid))
    validation_error = np.mean(np.sum((runs.test[:, split:, :num_classes]
                                       - one_hot(y_validation, num_classes)) ** 2, -1), -1)
    teacher_steps = int(max(grid[np.argmin(validation_error)], 1))
    teacher = th.gd(learning_rate, teacher_steps)
    teacher_run = predict_fn(teacher)
    teacher_train = teacher_run.train[:, :num_classes]
    switch_step = int(round(config.switch_multiple * teacher_steps))

    # (d, e) students: closed-form trajectories
    hard, easy = denoise.confidence_groups(p_star, config.hard_fraction)
    student_runs = {
        "onehot": (runs, slice(0, num_classes)),
        "bayes": (runs, slice(num_classes, None)),
        "teacher": (predict_fn(th.gd(learning_rate, grid) * teacher), slice(0, num_classes)),
        "late": (predict_fn(th.late_switch(learning_rate, grid, switch_step, teacher)), slice(0, num_classes)),
    }
    students = {name: _trajectory_metrics(run.train[..., columns], run.test[:, :split, columns], data, hard, easy)
                for name, (run, columns) in student_runs.items()}
    teacher_metrics = _trajectory_metrics(teacher_train, teacher_run.test[:split, :num_classes], data, hard, easy)
    panel_d = dict(steps=grid, teacher_steps=teacher_steps, switch_step=switch_step, students=students,
                   teacher=teacher_metrics, bayes_accuracy=data.bayes_accuracy,
                   bayes_test_accuracy=float(np.mean(np.argmax(data.p_star_test, -1) == data.y_test)),
                   validation_error=validation_error)

    panel_a = _noise_panel(config, p_star, teacher_train, hard, easy, streams[1])
    state_steps = int(round(config.state_fraction * teacher_steps))  # panel (b): gradients of this one-hot model
    state = predict_fn(th.gd(learning_rate, state_steps)).train[:, :num_classes]
    panel_b = dict(_variance_panel(config, spectrum, kernel, state, p_star, teacher_train, streams[2]),
                   state_steps=state_steps)
    panel_c = _direction_panel(config, spectrum, p_star, teacher_train, hard, streams[3])
    # (f) the fixed teacher as a function of new inputs: f(x) = k(x, X) α with α = U diag(g_T/λ) Uᵀ Y
    dual = spectrum.eigenvectors @ (teacher.over_eigenvalue(eigenvalues)[:, None] * spectrum.coordinates(labels))
    panel_f = _risk_panel(config, model, lambda x: kernels.rbf(x, data.x_train, lengthscale=lengthscale) @ dual,
                          streams[4])

    measured = intervals(config, data, panel_a, panel_b, student_runs, grid, switch_step, hard, easy)
    return dict(config=asdict(config), n_train=n, n_test=data.n_test, lengthscale=lengthscale,
                learning_rate=learning_rate, kernel_rank=spectrum.rank, a=panel_a, b=panel_b, c=panel_c,
                d=panel_d, f=panel_f, intervals=measured)


# --------------------------------------------------------------------------------------------- plot
COLOURS = {"onehot": "onehot", "bayes": "theory", "teacher": "teacher", "late": "student"}
LABELS = {"onehot": "one-hot", "bayes": "Bayes p*", "teacher": "teacher F_T", "late": "late switch"}


def plot(data: dict):
    """Six panels (a)-(f); returns a matplotlib Figure."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS, use

    use()
    colour = {name: ROLE_COLOURS[role] for name, role in COLOURS.items()}
    figure, axes = plt.subplots(2, 3, figsize=(11, 6.6), layout="constrained")
    (ax_a, ax_b, ax_c), (ax_d, ax_e, ax_f) = axes
    a, b, c, d, f = (data[k] for k in "abcdf")
    config = data["config"]

    ax_a.fill_between(a["band_confidence"], a["band_lower"], a["band_upper"], color="0.85", lw=0,
                      label="predicted 1 − ‖p*‖² (range at max p*)")
    ax_a.plot(a["confidence"], a["measured"], ".", ms=2.5, color=colour["bayes"], alpha=0.6,
              label="measured, q = p* (per point)")
    binned = a["teacher_binned"]
    ax_a.errorbar(binned["confidence"], binned["measured"], yerr=binned["standard_error"], fmt="o", ms=3.5,
                  mfc="white", color=colour["teacher"], label="measured, q = F_T (binned)")
    ax_a.plot(binned["confidence"], a["teacher_binned_predicted"], color=colour["teacher"], lw=1,
              label="predicted + ‖p* − q‖²")
    ax_a.set(xlabel="teacher confidence max_c p*_c(x)", ylabel="E‖e_y − q‖²", ylim=(0, None),
             title="(a) per-point label noise")
    ax_a.legend(loc="lower left")

    sizes = np.asarray(b["batch_sizes"])
    positive = lambda values: np.where(np.asarray(values, dtype=float) > 0, values, np.nan)  # b = n: exactly 0
    for name in ("onehot", "bayes", "teacher"):
        ax_b.plot(sizes, positive(b["closed"][name]), color=colour[name], label=LABELS[name])
        ax_b.plot(sizes, positive(b["initial"][name]), color=colour[name], lw=0.8, ls=":")
        ax_b.errorbar(sizes, positive(b["monte_carlo"][name]), yerr=b["monte_carlo_standard_error"][name], fmt="o",
                      ms=3.5, mfc="white", color=colour[name])
    ax_b.plot([], [], "o", mfc="white", mec="k", ms=3.5, label="Monte Carlo")
    ax_b.plot([], [], "k:", lw=0.8, label="at initialisation")
    ax_b.set(xscale="log", yscale="log", xlabel="batch size b", ylabel="tr Cov(Ĝ_b) / n²",
             title=f"(b) minibatch gradient variance, step {b['state_steps']}")
    ax_b.legend(loc="lower left")

    ax_c.plot(c["index"], c["noise"], color=colour["onehot"], label="label noise E‖u_kᵀ(e_y − p*)‖²")
    ax_c.plot(c["index"], c["noise_monte_carlo"], "o", ms=3.5, mfc="white", color=colour["onehot"],
              label="label noise, Monte Carlo")
    ax_c.plot(c["index"], c["signal"], color=colour["bayes"], label="signal ‖u_kᵀP*‖²")
    ax_c.plot(c["index"], c["teacher_bias"], color=colour["teacher"], label="teacher error ‖u_kᵀ(P* − F_T)‖²")
    ax_c.set(xscale="log", yscale="log", xlabel="eigendirection k (descending λ)", ylabel="energy per direction",
             title="(c) where the noise lives (target space)")
    ax_c.legend(loc="lower left")

    steps = np.asarray(d["steps"])[1:]
    for name in TARGETS:
        label = LABELS[name]
        if name == "late" and "intervals" in data:  # C2: the recovered fraction with its 95 % interval
            label += f" (recovers {interval(data, 'recovered', None).show(form='.2f')} of the ‖f − p*‖² gain)"
        ax_d.plot(steps, np.asarray(d["students"][name]["test_accuracy"])[1:], color=colour[name], label=label)
    ax_d.plot([d["teacher_steps"]], [d["teacher"]["test_accuracy"]], "s", ms=4, color=colour["teacher"],
              label="teacher")
    ax_d.axhline(d["bayes_accuracy"], color="0.5", lw=0.8, ls="--", label="Bayes (expected)")
    ax_d.axvline(d["teacher_steps"], color=colour["teacher"], lw=0.6, ls=":")
    ax_d.axvline(d["switch_step"], color=colour["late"], lw=0.6, ls=":")
    ax_d.set(xscale="log", xlabel="GD steps t", ylabel="test accuracy",
             title=f"(d) students (teacher T={d['teacher_steps']}, switch s={d['switch_step']})")
    ax_d.legend(loc="lower left")

    for name in ("onehot", "bayes", "teacher"):
        metrics = d["students"][name]
        ax_e.plot(steps, np.asarray(metrics["hard_distance"])[1:], color=colour[name], label=LABELS[name])
        ax_e.plot(steps, np.asarray(metrics["easy_distance"])[1:], color=colour[name], ls="--")
    ax_e.plot([], [], "k-", label="hard points")
    ax_e.plot([], [], "k--", label="easy points")
    ax_e.set(xscale="log", yscale="log", xlabel="GD steps t", ylabel="mean ‖F_i − p*_i‖² (train)",
             title=f"(e) fit on hard / easy points ({int(100 * config['hard_fraction'])}% each)")
    ax_e.legend(loc="lower left", ncol=2)

    sizes = np.asarray(f["sample_size"])
    for key, name, label in (("onehot", "onehot", "one-hot risk"), ("distilled", "bayes", "Bayes-distilled risk")):
        ax_f.plot(sizes, f[f"predicted_{key}"], color=colour[name], label=f"{label}, predicted")
        ax_f.errorbar(sizes, f[f"{key}_variance"], yerr=f[f"{key}_standard_error"], fmt="o", ms=3.5, mfc="white",
                      color=colour[name])
    ax_f.set(xscale="log", yscale="log", xlabel="sample size n", ylabel="variance of the risk estimate",
             title="(f) risk-estimate variance (Menon et al.)")
    ax_f.set_xticks(sizes, [str(int(size)) for size in sizes])
    ax_f.minorticks_off()
    ax_f.legend(loc="lower left")
    figure.suptitle(f"{config['dataset']}, C={config['num_classes']}, d={config['dim']}, n={data['n_train']}, "
                    f"RBF kernel (ℓ={data['lengthscale']:.2f}), squared loss, η=1/λ_max", fontsize=9)
    return figure
