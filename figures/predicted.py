"""Figure ``predicted``: does the kernel theory predict each trained pair's deviations, point by point?

For a teacher → student pair of networks (cross-entropy, distillation at τ with the τ² factor, plain SGD), the
linearised prediction of :mod:`theory.nets.linearised`: each network replaced by its first-order Taylor model at
its own initialisation, i.e. the cross-entropy kernel dynamics on its empirical NTK Θ₀ with the C × C output
blocks, replaying the network's own minibatches, learning rates and momentum (docs/linearised.md). Per training
point, Δ = φ(p_student) − φ(p_teacher) on the actual teacher's top-1 class, predicted (both linearised) and
actual (both trained).

(a) predicted vs actual Δ for the default pair (a standard-parameterisation MLP), mislabeled points marked;
(b) the same for the widest NTK-parameterised MLP of the width sweep (the lazy-regime control);
(c) the C1 slope of φ_student on φ_teacher, predicted vs measured, across settings (τ, label noise, momentum,
    weight decay, a cosine schedule, a CNN);
(d) the width sweep: the prediction's error against width (log-log), with the fitted rate, beside the
    standard MLP and the CNN.

Runs come from the run store (``run_dir``). Every measured number of a claim carries a 95 % percentile bootstrap
interval over the training points, paired (predicted and measured on the same resampled points;
:func:`theory.nets.linearised.agreement`, docs/linearised.md §5): the C1 slopes, their difference, r, sign
agreement. The intervals are computed while the per-point arrays are in memory and stored in each entry's
``train["intervals"]``; the per-point arrays of the two scatter panels are kept in the JSON (``points``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from tqdm.auto import tqdm

from theory.evidence import Claim, Estimate, greater_than, less_than
from theory.metrics import ols_line
from theory.metrics.bootstrap import REPLICATES, ols_slopes, percentile_interval, point_replicates
from theory.nets import DEFAULT_RUN_DIR, linearised
from theory.nets.experiment import Setting, student_config

NAME = "predicted"
KIND = "networks"
DESCRIPTION = ("networks vs their own linearisation (empirical NTK at init, CE dynamics on the networks' batches): "
               "per-point Δφ predicted and actual, C1 slopes across settings, NTK width sweep")

_DEFAULT = Setting(name="mlp", dataset="mnist1d", model="mlp", width=512, depth=2, n_train=1000, label_noise=0.2,
                   learning_rate=0.1, momentum=0.0, schedule="constant", batch_size=64, teacher_epochs=20,
                   student_epochs=20, temperature=4.0, record=0)


@dataclass(frozen=True)
class Config:
    """Settings of the ``predicted`` figure.

    ``setting`` is the default pair (plain SGD, constant learning rate, no weight decay: where the linearised
    theory applies exactly); ``variants`` are ``(name, ((field, value), …))`` changes of it for panel (c);
    ``widths`` the NTK-parameterised MLP (``model="mlp_ntk"``, depth 1, learning rate ``ntk_learning_rate``) of
    panel (d); ``cnn`` the changes that make the CNN setting (None: none).
    """

    setting: Setting = _DEFAULT
    variants: tuple = (("τ=1", (("temperature", 1.0),)), ("τ=2", (("temperature", 2.0),)),
                       ("no noise", (("label_noise", 0.0),)), ("momentum 0.9", (("momentum", 0.9),)),
                       ("weight decay 5e-4", (("weight_decay", 5e-4),)), ("cosine", (("schedule", "cosine"),)))
    widths: tuple = (64, 256, 1024, 4096)
    ntk_learning_rate: float = 1.0
    cnn: tuple | None = (("model", "cnn1d"), ("width", 16), ("depth", 2), ("n_train", 500))
    kernel: str = "full"
    test_points: int = 200
    seed: int = 0
    replicates: int = REPLICATES  # bootstrap replicates of every interval (over the training points, paired)
    run_dir: str = DEFAULT_RUN_DIR  # paper_figs.py sets --runs (default <out>/runs)
    progress: bool = True

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """Digits, small networks, a few epochs (well under a minute)."""
        setting = replace(cls.setting, dataset="digits", n_train=200, width=64, depth=1, batch_size=32,
                          teacher_epochs=5, student_epochs=5)
        return replace(cls(setting=setting, variants=(("τ=1", (("temperature", 1.0),)),), widths=(32, 256),
                           ntk_learning_rate=0.5, cnn=None, test_points=0), **overrides)


# --------------------------------------------------------------------------------------------- compute
def _predict(setting: Setting, config: Config, bar, kernel: str | None = None,
             **options) -> linearised.PairPrediction:
    """One linearised prediction (training the pair first if needed); ``bar`` counts the predictions."""
    bar.set_postfix_str(f"{setting.name}, {kernel or config.kernel} kernel", refresh=False)
    student = student_config(setting, config.seed)
    prediction = linearised.predict_pair(student, config.run_dir, kernel=kernel or config.kernel,
                                         test_points=config.test_points, progress=config.progress, **options)
    bar.update()
    return prediction


def _entry(name: str, setting: Setting, prediction, config: Config, *, points: bool = False) -> dict:
    entry = dict(name=name, model=setting.model, width=setting.width, temperature=setting.temperature,
                 label_noise=setting.label_noise, momentum=setting.momentum, weight_decay=setting.weight_decay,
                 schedule=setting.schedule, exact=prediction.exact, seconds=prediction.seconds,
                 train=linearised.agreement(prediction, "train", replicates=config.replicates, seed=config.seed),
                 from_actual=linearised.agreement(prediction, "train", "from_actual"))
    if prediction.logits["test"]:
        entry["test"] = linearised.agreement(prediction, "test")
    if points:
        entry["points"] = {split: {key: value for key, value in prediction.points(split).items()}
                           for split in ("train", "test") if prediction.logits[split]}
        entry["points"]["noisy"] = prediction.noisy
    return entry


def _relative(a, b, start) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b - start), 1e-30))


def _rate(widths, errors) -> dict:
    """log error = rate · log width + c by OLS (:func:`theory.metrics.ols_line`)."""
    rate, intercept = ols_line(np.log(widths), np.log(errors))
    return dict(rate=rate, intercept=intercept)


def _moved_rows(prediction) -> tuple:
    """Per training point: ‖Z_pred − Z_act‖² and ‖Z_act − Z_0‖² of the student's logits (rows of the
    ``logit_error_student`` ratio of :func:`theory.nets.linearised.agreement`)."""
    z = prediction.logits["train"]
    return (np.sum((z["student_predicted"] - z["student_actual"]) ** 2, axis=1),
            np.sum((z["student_actual"] - z["student_init"]) ** 2, axis=1))


def _rate_interval(widths, errors, moved, config: Config) -> list:
    """95 % bootstrap interval of the fitted rate of the student's logit error over width, resampling the
    training points (the same points at every width: paired); ``errors``, ``moved``: ``(n, W)``."""
    log_widths = np.log(np.asarray(widths, dtype=float))

    def statistic(error, move):  # (m, n, W) -> (m,)
        ratio = np.log(error.sum(axis=1) / np.maximum(move.sum(axis=1), 1e-30)) / 2
        return ols_slopes(np.broadcast_to(log_widths, ratio.shape), ratio)

    value, draws = point_replicates(statistic, (errors, moved), replicates=config.replicates, seed=config.seed)
    return list(percentile_interval(value[0], draws[:, 0]).bounds())


def compute(config: Config = Config()) -> dict:
    """Trains or reuses the pairs and predicts them; every plotted number, and the per-point arrays."""
    base = config.setting
    total = 4 + len(config.variants) + (config.cnn is not None) + 2 * len(config.widths)
    bar = tqdm(total=total, desc="predicted", unit="prediction", disable=None if config.progress else True)
    default = _predict(base, config, bar)
    result = dict(config=asdict(config), default=_entry(base.name, base, default, config, points=True))
    # the same pair with the traced kernel, and the student on its teacher's kernel
    traced = _predict(base, config, bar, "traced")
    z_full, z_traced = default.logits["train"], traced.logits["train"]
    result["traced"] = dict(
        agreement=linearised.agreement(traced, "train"),
        error_teacher=_relative(z_traced["teacher_predicted"], z_full["teacher_predicted"], z_full["teacher_init"]),
        error_student=_relative(z_traced["student_predicted"], z_full["student_predicted"], z_full["student_init"]))
    on_teacher = _predict(base, config, bar, student_kernel="teacher")
    result["teacher_kernel"] = dict(
        agreement=linearised.agreement(on_teacher, "train"),
        change_student=_relative(on_teacher.logits["train"]["student_predicted"], z_full["student_predicted"],
                                 z_full["student_init"]))
    end = _predict(base, config, bar, student_kernel="teacher_end")  # re-linearised at the teacher's end point
    result["teacher_end_kernel"] = dict(
        agreement=linearised.agreement(end, "train"),
        change_student=_relative(end.logits["train"]["student_predicted"], z_full["student_predicted"],
                                 z_full["student_init"]))
    settings = [result["default"]]
    for name, changes in config.variants:
        setting = replace(base, name=name, **dict(changes))
        settings.append(_entry(name, setting, _predict(setting, config, bar), config))
    if config.cnn is not None:
        setting = replace(base, name="cnn", **dict(config.cnn))
        settings.append(_entry("cnn", setting, _predict(setting, config, bar), config))
    result["settings"] = settings
    sweep, rows = [], []
    for width in config.widths:
        setting = replace(base, name=f"NTK MLP width {width}", model="mlp_ntk", width=width, depth=1,
                          learning_rate=config.ntk_learning_rate)
        prediction = _predict(setting, config, bar)
        rows.append(_moved_rows(prediction))
        entry = _entry(setting.name, setting, prediction, config, points=width == max(config.widths))
        traced_agreement = linearised.agreement(_predict(setting, config, bar, "traced"), "train")
        entry["traced"] = {key: traced_agreement[key] for key in ("correlation", "rms_error", "logit_error_student",
                                                                   "logit_error_teacher", "slope_predicted")}
        sweep.append(entry)
    widths = np.array([entry["width"] for entry in sweep], dtype=float)
    rate = _rate(widths, [e["train"]["logit_error_student"] for e in sweep])
    rate["interval"] = _rate_interval(widths, *(np.stack([r[k] for r in rows], axis=1) for k in (0, 1)), config)
    result["widths"] = dict(
        entries=sweep, rate_logit_error=rate,
        rate_rms_error=_rate(widths, [e["train"]["rms_error"] for e in sweep]),
        rate_traced_logit_error=_rate(widths, [e["traced"]["logit_error_student"] for e in sweep]))
    bar.close()
    return result


# --------------------------------------------------------------------------------------------- plot
def _scatter(ax, entry, title, colours):
    points = entry["points"]["train"]
    noisy = np.asarray(entry["points"]["noisy"], dtype=bool)
    x, y = np.asarray(points["deviation_predicted"]), np.asarray(points["deviation_actual"])
    ax.scatter(x[~noisy], y[~noisy], s=4, alpha=0.35, lw=0, color=colours["student"], label="clean label",
               rasterized=True)
    ax.scatter(x[noisy], y[noisy], s=6, alpha=0.6, lw=0, marker="^", color=colours["onehot"], label="mislabeled",
               rasterized=True)
    limits = [min(x.min(), y.min()), max(x.max(), y.max())]
    ax.plot(limits, limits, color="k", lw=0.7, ls=":", label="y = x")
    train = entry["train"]
    ax.set(xlabel="predicted Δ = φ_S − φ_T (linearised)", ylabel="actual Δ (trained networks)",
           title=f"{title}\nr = {_estimate(train['correlation'], train, 'correlation').show()}, slope "
                 f"{train['deviation_slope']:.2f}, sign agrees {train['sign_agreement']:.0%}")
    ax.legend(loc="upper left")


def _error_bar(train: dict, key: str):
    """``[[below], [above]]`` of the stored interval of ``train[key]``, for matplotlib (None without one)."""
    estimate = _estimate(train[key], train, key)
    if estimate.interval is None or not np.all(np.isfinite(estimate.interval)):
        return None
    return [[max(estimate.value - estimate.low, 0.0)], [max(estimate.high - estimate.value, 0.0)]]


def plot(data: dict):
    """Four panels: two scatters, slopes across settings, the width sweep."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours
    from .style import use

    use()
    figure, axes = plt.subplots(1, 4, figsize=(15, 3.8), layout="constrained")
    _scatter(axes[0], data["default"], f"(a) {data['default']['name']} (standard parameterisation)", colours)
    widest = data["widths"]["entries"][-1]
    _scatter(axes[1], widest, f"(b) {widest['name']}", colours)

    ax = axes[2]
    for number, entry in enumerate(data["settings"]):
        train = entry["train"]
        ax.errorbar(train["slope_predicted"], train["slope_measured"], xerr=_error_bar(train, "slope_predicted"),
                    yerr=_error_bar(train, "slope_measured"), fmt="o", ms=4, elinewidth=0.8,
                    color=colours["student"] if entry["exact"] else colours["onehot"])
        ax.annotate(entry["name"], (train["slope_predicted"], train["slope_measured"]), fontsize=7,
                    xytext=(4, 8 * (number % 3) - 8), textcoords="offset points")  # staggered: close points
    for entry in data["widths"]["entries"]:
        train = entry["train"]
        ax.errorbar(train["slope_predicted"], train["slope_measured"], xerr=_error_bar(train, "slope_predicted"),
                    yerr=_error_bar(train, "slope_measured"), fmt="s", ms=4, mfc="white", elinewidth=0.8,
                    color=colours["theory"])
    values = [e["train"][k] for e in data["settings"] + data["widths"]["entries"]
              for k in ("slope_predicted", "slope_measured")]
    ax.plot([min(values), max(values)], [min(values), max(values)], color="k", lw=0.7, ls=":")
    ax.set(xlabel="C1 slope, linearised prediction", ylabel="C1 slope, trained networks",
           title="(c) slopes across settings (train, 95% CI)\n● standard nets (orange: not modelled), □ NTK widths")

    ax = axes[3]
    entries = data["widths"]["entries"]
    widths = np.array([e["width"] for e in entries])
    for key, style, label in (("logit_error_student", "o-", "student logits ‖Z_lin − Z‖/‖Z − Z₀‖"),
                              ("rms_error", "s-", "rms(Δ_pred − Δ_act)")):
        ax.plot(widths, [e["train"][key] for e in entries], style, ms=4, label=f"{label}")
    ax.plot(widths, [e["traced"]["logit_error_student"] for e in entries], "o--", ms=3, mfc="white",
            label="student logits, traced kernel")
    for entry in data["settings"]:
        if entry["name"] in (data["default"]["name"], "cnn"):
            ax.axhline(entry["train"]["logit_error_student"], color="grey", lw=0.8, ls="--")
            ax.annotate(f"{entry['name']} (logits)", (widths[0], entry["train"]["logit_error_student"]), fontsize=7,
                        xytext=(0, 2), textcoords="offset points")
    rates = data["widths"]
    ax.set(xscale="log", yscale="log", xlabel="width (NTK parameterisation, depth 1)", ylabel="prediction error",
           title=f"(d) width sweep: rate "
                 f"{_bounded(rates['rate_logit_error']['rate'], rates['rate_logit_error'].get('interval')).show(2)}"
                 f" (logits), "
                 f"{rates['rate_rms_error']['rate']:.2f} (Δ)")
    ax.legend(loc="lower left")
    return figure


# --------------------------------------------------------------------------------------------- claims
def _bounded(value, bounds) -> Estimate:
    """``value`` with the stored interval ``bounds``: a point estimate when there is none (a result stored
    before intervals), a NaN interval (not run) when the bootstrap gave none (NaN is stored as None)."""
    if bounds is None:
        return Estimate(value)
    low, high = (float("nan") if bound is None else bound for bound in bounds)
    return Estimate(value, low, high)


def _estimate(value, train: dict, key: str) -> Estimate:
    """``value`` with its interval ``train["intervals"][key]`` (:func:`_bounded`)."""
    return _bounded(value, (train.get("intervals") or {}).get(key))



def claims(data: dict) -> list:
    """Per setting: the sign and the size of the student's deviation (the C1 slope), the point-by-point agreement
    of the default pair, and the convergence of the prediction with width.

    Each measured number carries its 95 % paired bootstrap interval over the training points
    (:func:`theory.nets.linearised.agreement`): *sign* is (slope_pred − 1)(slope_meas − 1) > 0, whose interval
    lies above 0 when fewer than 2.5 % of the resamples put the two slopes on opposite sides of 1 (below 0: they
    lie on opposite sides); *size* is |slope_pred − slope_meas| < 0.1 judged on the image under |·| of the paired
    difference's interval (reproduced when the whole difference interval lies in (−0.1, 0.1)); *per point* is
    r > 0.9 on r's interval; the width rate's interval resamples the training points (the same at every width).
    """
    config = data["config"]["setting"]
    base = f"{config['dataset']} n={config['n_train']}, noise {config['label_noise']:g}, SGD lr " \
           f"{config['learning_rate']:g}, batch {config['batch_size']}, {config['teacher_epochs']} epochs"
    replicates = data["config"].get("replicates")
    note = (f"; 95% paired bootstrap CI over the training points ({replicates} replicates, one seed)"
            if replicates else "")
    result = []
    for entry in data["settings"] + data["widths"]["entries"][-1:]:
        train = entry["train"]
        setting = f"{entry['name']} ({entry['model']}, τ={entry['temperature']:g}), {base}, train{note}"
        predicted = _estimate(train["slope_predicted"], train, "slope_predicted")
        measured = _estimate(train["slope_measured"], train, "slope_measured")
        difference = _estimate(predicted.value - measured.value, train, "slope_difference")
        result.append(Claim(
            claim=f"sign {entry['name']}", setting=setting,
            statement="the kernel theory predicts the sign of the student's deviation (C1 slope above or below 1)",
            measured=f"slope predicted {predicted.show()}, measured {measured.show()}",
            evidence=_estimate((predicted.value - 1.0) * (measured.value - 1.0), train, "sign_product"),
            criterion=greater_than(0.0),
            criterion_text="(predicted − 1)(measured − 1) > 0: both > 1 or both < 1"))
        result.append(Claim(
            claim=f"size {entry['name']}", setting=setting,
            statement="the kernel theory predicts the size of the student's deviation (C1 slope within 0.1)",
            measured=f"|{predicted.value:.3f} − {measured.value:.3f}| = {abs(difference.value):.3f}; paired "
                     f"difference {difference.show(sign='+')}",
            evidence=_estimate(abs(difference.value), train, "slope_abs_difference"), criterion=less_than(0.1),
            criterion_text="< 0.1 (the difference's interval inside ±0.1)"))
    for entry in (data["default"], data["widths"]["entries"][-1]):
        train = entry["train"]
        correlation = _estimate(train["correlation"], train, "correlation")
        slope, sign = (_estimate(train[key], train, key) for key in ("deviation_slope", "sign_agreement"))
        result.append(Claim(
            claim=f"per point {entry['name']}", setting=f"{entry['name']}, {base}, train{note}",
            statement="the linearised prediction orders the points' deviations Δφ like the networks (r > 0.9)",
            measured=f"r = {correlation.show()}, slope {slope.show()}, sign agreement {sign.show()}, "
                     f"student top-1 agreement {train['top1_student']:.3f}",
            evidence=correlation, criterion=greater_than(0.9), criterion_text="r > 0.9"))
    widths = data["widths"]
    rate = _bounded(widths["rate_logit_error"]["rate"], widths["rate_logit_error"].get("interval"))
    result.append(Claim(
        claim="NTK width", setting=f"NTK MLP widths {[e['width'] for e in widths['entries']]}, {base}{note} "
                                   "(the same points at every width)",
        statement="the prediction converges to the networks as the width grows (fitted rate < 0)",
        measured=f"student logit error ∝ width^{rate.show(2)}, rms Δ error ∝ "
                 f"width^{widths['rate_rms_error']['rate']:.2f}",
        evidence=rate, criterion=less_than(0.0), criterion_text="rate < 0"))
    return result
