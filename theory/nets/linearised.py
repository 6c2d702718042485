"""The linearised prediction of a trained teacher → student pair, point by point (docs/linearised.md).

Each network is replaced by its first-order Taylor model in the parameters at its *own* initialisation,
f_lin(x; θ) = f(x; θ₀) + J(x)(θ − θ₀), and trained like the network: the same cross-entropy (distillation at τ
with the τ² factor, the one-hot term, ξ), learning rate (schedule included), momentum, batch size and the
network's own minibatch sequence (:func:`theory.nets.training.batch_order`). Its logits then follow the kernel
dynamics :func:`theory.dynamics.kernel_ce_replay` on the empirical NTK Θ₀(x, x′) = J(x) J(x′)ᵀ with its C × C
output blocks (``kernel="full"``: exact for f_lin) or on its trace (``"traced"``: (1/C) tr Θ₀ ⊗ I_C, the
infinite-width form). The teacher's linearisation learns the labels; the student's learns softmax(Z_T / τ) of
the teacher's *predicted* logits (the theory alone) and, separately, of its *actual* logits.

Per point i (training set, and a test subset), on the actual teacher's top-1 class k_i (one class for both
worlds, so that the deviations compare point by point),

    φ = log(p / (1 − p)) (:func:`theory.metrics.logit_confidence`),   Δ_i = φ_student,i − φ_teacher,i,

predicted (both linearised) and actual (both trained). :func:`agreement` measures them with the shared metrics.

Not modelled (the prediction is then not exact, ``PairPrediction.exact`` is False): weight decay; refused with
the reason: Nesterov momentum, Adam, augmentation, loss switches, the squared loss.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from .. import metrics
from .._checks import check_choice, check_integer
from ..metrics.bootstrap import LEVEL, correlations, ols_slopes, percentile_interval, point_replicates
from ..dynamics import kernel_ce_replay
from ..kernels import empirical_ntk
from .config import TrainConfig
from .optim import make_schedule
from .training import batch_order, data_for, final_variables, initial_variables, model_for, train

__all__ = ["KERNELS", "init_kernel", "linearised_logits", "PairPrediction", "predict_pair", "deviation",
           "agreement"]

#: the kernels of a prediction: the C × C output blocks (exact for the linearised network) or their trace.
KERNELS = ("full", "traced")
_CACHE: dict = {}


def _identity(config: TrainConfig) -> tuple:
    """What the initial network depends on: architecture, seed and inputs (not the labels, nor the training)."""
    return (config.model, config.width, config.depth, config.seed, config.dataset, config.data_dir, config.n_train,
            config.data_seed, config.data_options)


def _apply(config: TrainConfig, data, run=None):
    model = model_for(config, data)
    variables = initial_variables(config, data) if run is None else final_variables(run)
    shape = data.input_shape

    def apply_fn(params, x):
        return model.apply({"params": params, "batch_stats": variables["batch_stats"]},
                           x.reshape((x.shape[0], *shape)), train=False)

    return apply_fn, variables["params"]


def init_kernel(config: TrainConfig, kernel: str = "full", test_index=None, *, run=None) -> np.ndarray:
    """Empirical NTK of ``config``'s network at its initialisation (cached for the last four requests).

    ``test_index`` None: on the training points, ``(n, n, C, C)`` (``"full"``) or ``(n, n)`` (``"traced"``,
    the mean over outputs); else between the training points and the test points ``test_index``, ``(n, m, …)``.
    ``run``: a complete run of ``config``; the kernel is then taken at its *final* parameters (a re-linearisation
    at the end point). Computed by :func:`theory.kernels.empirical_ntk` in the network's float32 (structured
    for dense networks).
    """
    check_choice(kernel, "kernel", KERNELS)
    index = None if test_index is None else tuple(np.asarray(test_index).tolist())
    point = None if run is None else run.hash
    key = (_identity(config), point, kernel, index)
    full_key = (_identity(config), point, "full", index)
    if key not in _CACHE and kernel == "traced" and full_key in _CACHE:  # the trace of the cached blocks
        return np.trace(_CACHE[full_key], axis1=2, axis2=3) / _CACHE[full_key].shape[2]
    if key not in _CACHE:
        data = data_for(config)
        apply_fn, params = _apply(config, data, run)
        x2 = None if index is None else data.flat_test()[list(index)]
        while len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = empirical_ntk(apply_fn, params, data.flat_train(), x2, trace_outputs=kernel == "traced")
    return _CACHE[key]


def _check_modelled(config: TrainConfig) -> None:
    problems = [text for bad, text in (
        (config.loss != "ce", "loss 'mse' (the squared loss has the closed form of the ntk figure)"),
        (config.optimizer != "sgd", f"optimizer {config.optimizer!r} (only SGD is linear in the gradient)"),
        (config.nesterov, "Nesterov momentum"), (config.augment, "augmentation (the inputs change every step)"),
        (config.switch_epoch is not None, "a loss switch"),
        (config.teacher is not None and not 0 <= config.teacher_weight <= 1, "teacher_weight outside [0, 1]"))
        if bad]
    if problems:
        raise ValueError(f"the linearised prediction does not model {problems[0]} of run {config.describe()}; "
                         "use plain SGD with cross-entropy (momentum and schedules are modelled).")


def linearised_logits(config: TrainConfig, kernel_train, f_train_0, *, kernel_test=None, f_test_0=None,
                      teacher_logits=None):
    """Final logits of ``config``'s linearised network: :func:`theory.dynamics.kernel_ce_replay` with the
    network's batches, learning rates η_t / n, momentum and loss. Returns ``(train (n, C), test (m, C) or None)``.

    Args:
      config: a teacher (one-hot) or student config (needs ``teacher_logits``).
      kernel_train: ``(n, n, C, C)`` or ``(n, n)`` kernel on the training points (:func:`init_kernel`).
      f_train_0: ``(n, C)`` initial logits; ``kernel_test``, ``f_test_0``: the same for test points (optional).
      teacher_logits: ``(n, C)`` the teacher's logits on the training points (a student only).
    """
    _check_modelled(config)
    data = data_for(config)
    batches = batch_order(config, data)
    steps_per_epoch = batches.shape[0] // config.epochs
    rates = np.asarray(make_schedule(config, steps_per_epoch)(jnp.arange(batches.shape[0])), np.float64)
    one_hot = data.one_hot_train()
    loss = dict(targets=one_hot)
    if config.teacher is not None:
        if teacher_logits is None:
            raise ValueError("a student's prediction needs teacher_logits (n, C), the teacher's training logits.")
        loss = dict(teacher_logits=teacher_logits, temperature=config.temperature,
                    scale_by_temperature_squared=config.temperature_squared, onehot_targets=one_hot,
                    onehot_weight=1.0 - config.teacher_weight)
    trajectory = kernel_ce_replay(kernel_train, batches, learning_rate=rates / data.n_train, momentum=config.momentum,
                                  f_train_0=f_train_0, k_train_test=kernel_test, f_test_0=f_test_0, **loss)
    return trajectory.train[-1], None if trajectory.test is None else trajectory.test[-1]


def deviation(teacher_logits, student_logits, classes) -> dict:
    """Per point: ``phi_teacher``, ``phi_student`` (φ of softmax on ``classes`` (n,)) and ``deviation`` = their
    difference, each ``(n,)`` float64 (:func:`theory.metrics.logit_confidence`)."""
    rows = np.arange(len(classes))
    phi = [metrics.logit_confidence(metrics.softmax(z)[rows, classes]) for z in (teacher_logits, student_logits)]
    return dict(phi_teacher=phi[0], phi_student=phi[1], deviation=phi[1] - phi[0])


@dataclass(frozen=True, eq=False)
class PairPrediction:
    """Predicted and actual logits of a teacher → student pair (:func:`predict_pair`).

    Attributes:
      student: the student's config (its ``teacher`` the teacher's).
      kernel: ``"full"`` or ``"traced"``; student_kernel: ``"student"`` (its own Θ₀), ``"teacher"`` (the
        teacher's Θ₀) or ``"teacher_end"`` (the teacher's NTK after training).
      exact: whether everything the networks did is modelled (False with weight decay).
      logits: ``{split: {name: (n or m, C)}}`` for split ``"train"`` / ``"test"`` and names ``teacher_actual``,
        ``teacher_predicted``, ``student_actual``, ``student_predicted`` (on the predicted teacher),
        ``student_from_actual`` (on the actual teacher), ``teacher_init``, ``student_init``.
      test_index: ``(m,)`` the test points predicted (may be empty).
      noisy: ``(n,)`` bool, training labels flipped by label noise.
      seconds: wall-clock seconds of the kernels and of the replays.
    """

    student: TrainConfig
    kernel: str
    student_kernel: str
    exact: bool
    logits: dict
    test_index: np.ndarray
    noisy: np.ndarray
    seconds: dict = field(default_factory=dict)

    def points(self, split: str = "train", source: str = "predicted") -> dict:
        """Per-point arrays on the actual teacher's top-1 class: φ and Δ of the actual pair (``*_actual``) and of
        the prediction (``*_predicted``; ``source="from_actual"``: the student predicted on the actual teacher)."""
        check_choice(source, "source", ("predicted", "from_actual"))
        z = self.logits[split]
        classes = np.argmax(z["teacher_actual"], axis=1)
        actual = deviation(z["teacher_actual"], z["student_actual"], classes)
        teacher = z["teacher_predicted"] if source == "predicted" else z["teacher_actual"]
        predicted = deviation(teacher, z[f"student_{source}"], classes)
        result = {f"{k}_actual": v for k, v in actual.items()}
        result.update({f"{k}_predicted": v for k, v in predicted.items()})
        result["classes"] = classes
        return result


def predict_pair(student: TrainConfig, run_dir, *, kernel: str = "full", student_kernel: str = "student",
                 test_points: int = 0, progress: bool = False) -> PairPrediction:
    """Trains (or reuses) a teacher → student pair and predicts both from their linearisations.

    Args:
      student: a student config (``student.teacher`` the one-hot teacher); plain SGD, cross-entropy.
      run_dir: the run store.
      kernel: ``"full"`` (C × C blocks; memory 8 n² C² bytes) or ``"traced"``.
      student_kernel: ``"student"`` (the student's own Θ₀, its own initial logits), ``"teacher"`` (the
        teacher's Θ₀ with the student's initial logits: what changes when the student is given its teacher's
        kernel) or ``"teacher_end"`` (the student re-linearised on the teacher's NTK at the teacher's end point,
        the kernel training has learned, still from the student's initial logits).
      test_points: how many test points (the first ones) to predict as well (0: none).
      progress: progress bars of the training.
    """
    check_choice(student_kernel, "student_kernel", ("student", "teacher", "teacher_end"))
    if student.teacher is None:
        raise ValueError("student must have a teacher (a distillation config).")
    teacher = student.teacher
    _check_modelled(teacher), _check_modelled(student)
    data = data_for(student)
    test_points = check_integer(test_points, "test_points", minimum=0, maximum=data.n_test)
    test_index = np.arange(test_points)
    runs = {"teacher": train(teacher, run_dir, progress=progress), "student": train(student, run_dir,
                                                                                    progress=progress)}
    logits = {"train": {}, "test": {}}
    for role, run in runs.items():
        logits["train"][f"{role}_actual"] = run.logits_at(None, "train").astype(np.float64)
        logits["train"][f"{role}_init"] = run.logits_at(0, "train").astype(np.float64)
        logits["test"][f"{role}_actual"] = run.logits_at(None, "test")[test_index].astype(np.float64)
        logits["test"][f"{role}_init"] = run.logits_at(0, "test")[test_index].astype(np.float64)
    tick = time.perf_counter()
    end = runs["teacher"] if student_kernel == "teacher_end" else None
    kernel_source = {"teacher": (teacher, None), "student": (student, None) if student_kernel == "student" else
                     (teacher, end)}
    kernels = {role: (init_kernel(config, kernel, run=at),
                      init_kernel(config, kernel, test_index, run=at) if test_points else None)
               for role, (config, at) in kernel_source.items()}
    seconds = {"kernels": time.perf_counter() - tick}
    tick = time.perf_counter()
    init = logits["train"]["teacher_init"], (logits["test"]["teacher_init"] if test_points else None)
    train_t, test_t = linearised_logits(teacher, kernels["teacher"][0], init[0], kernel_test=kernels["teacher"][1],
                                        f_test_0=init[1])
    logits["train"]["teacher_predicted"], logits["test"]["teacher_predicted"] = train_t, test_t
    start = logits["train"]["student_init"], (logits["test"]["student_init"] if test_points else None)
    for name, targets in (("predicted", train_t), ("from_actual", logits["train"]["teacher_actual"])):
        train_s, test_s = linearised_logits(student, kernels["student"][0], start[0], kernel_test=kernels["student"][1],
                                            f_test_0=start[1], teacher_logits=targets)
        logits["train"][f"student_{name}"], logits["test"][f"student_{name}"] = train_s, test_s
    seconds["replays"] = time.perf_counter() - tick
    if not test_points:
        logits["test"] = {}
    exact = teacher.weight_decay == 0 and student.weight_decay == 0
    return PairPrediction(student, kernel, student_kernel, exact, logits, test_index, np.asarray(data.noisy_mask),
                          seconds)


def _correlation(x, y) -> float:
    return float(correlations(x, y)) if np.size(x) >= 2 else float("nan")


#: the statistics of :func:`agreement`'s ``intervals``, in the order of :func:`_paired_statistics`.
_PAIRED = ("slope_predicted", "slope_measured", "correlation", "sign_agreement", "deviation_slope")


def _paired_statistics(phi_t_pred, phi_s_pred, phi_t_act, phi_s_act, dev_pred, dev_act) -> np.ndarray:
    """``(m, 5)``: the statistics of :data:`_PAIRED` on m resamples ``(m, n)`` of the points."""
    return np.stack([ols_slopes(phi_t_pred, phi_s_pred), ols_slopes(phi_t_act, phi_s_act),
                     correlations(dev_pred, dev_act), np.mean(np.sign(dev_pred) == np.sign(dev_act), axis=-1),
                     ols_slopes(dev_pred, dev_act)], axis=-1)


def _intervals(fits: tuple, points: dict, replicates: int, seed, level: float = LEVEL) -> dict:
    """95 % paired bootstrap intervals over the points (docs/linearised.md §5): ``{name: [low, high]}``."""
    predicted, measured = fits
    arrays = (predicted.phi_teacher, predicted.phi_student, measured.phi_teacher, measured.phi_student,
              points["deviation_predicted"], points["deviation_actual"])
    value, draws = point_replicates(_paired_statistics, arrays, replicates=replicates, seed=seed)
    result = {name: list(percentile_interval(value[k], draws[:, k], level).bounds())
              for k, name in enumerate(_PAIRED)}
    difference = percentile_interval(value[0] - value[1], draws[:, 0] - draws[:, 1], level).bounds()
    result["slope_difference"] = list(difference)
    # |predicted − measured|: the image of the paired difference's interval under |·| (the percentile interval
    # of |d*| is biased away from 0 when d is near 0), so that "< 0.1" is judged on the whole difference interval
    low, high = difference
    result["slope_abs_difference"] = [0.0 if low <= 0 <= high else min(abs(low), abs(high)),
                                      max(abs(low), abs(high))]
    product = (value[0] - 1.0) * (value[1] - 1.0)
    result["sign_product"] = list(percentile_interval(product, (draws[:, 0] - 1.0) * (draws[:, 1] - 1.0),
                                                      level).bounds())
    result["replicates"] = int(replicates)
    return result


def agreement(prediction: PairPrediction, split: str = "train", source: str = "predicted", *,
              groups: int = 4, replicates: int = 0, seed=0) -> dict:
    """How well the prediction matches the networks on ``split``, through :mod:`theory.metrics`.

    Returned (floats, JSON-ready; the per-point arrays are :meth:`PairPrediction.points`):

    * ``correlation``: Pearson r of predicted and actual Δ; ``sign_agreement``: share of points where they
      have the same sign; ``deviation_slope``: OLS slope of actual on predicted Δ (:func:`theory.metrics.ols_line`;
      1 = the predicted size); ``rms_error``, ``rms_actual``: root mean square of Δ_pred − Δ_act and of Δ_act;
    * ``slope_predicted``, ``slope_measured``: the C1 slopes of φ_student on φ_teacher (each pair on its own
      teacher's top-1 class, :func:`theory.metrics.exaggeration`);
    * ``top1_teacher``, ``top1_student``: top-1 agreement of predicted and actual (:func:`theory.metrics.fidelity`);
    * ``logit_error_teacher``, ``logit_error_student``: ‖Z_pred − Z_act‖ / ‖Z_act − Z_0‖ (relative to how far
      training moved the logits);
    * ``by_confidence``: per quartile of the actual teacher's φ (low to high), mean |Δ_pred − Δ_act| and r;
      ``by_label`` (train): the same for clean and mislabeled points;
    * ``intervals`` (only with ``replicates`` > 0): 95 % percentile bootstrap intervals ``[low, high]`` over the
      points, paired (every statistic on the same resampled points; docs/linearised.md §5) for
      ``slope_predicted``, ``slope_measured``, ``correlation``, ``sign_agreement``, ``deviation_slope``,
      ``slope_difference`` (predicted − measured), ``slope_abs_difference`` (the image of that interval under
      |·|) and ``sign_product`` ((slope_predicted − 1)(slope_measured − 1): its interval lies above 0 when fewer
      than 2.5 % of the resamples put the two slopes on opposite sides of 1); ``seed`` an int or a Generator.
    """
    check_choice(split, "split", ("train", "test"))
    replicates = check_integer(replicates, "replicates", minimum=0)
    if not prediction.logits[split]:
        raise ValueError(f"no {split} predictions: pass test_points > 0 to predict_pair.")
    points = prediction.points(split, source)
    z = prediction.logits[split]
    student_name = f"student_{source}"
    teacher_name = "teacher_predicted" if source == "predicted" else "teacher_actual"
    predicted, actual = points["deviation_predicted"], points["deviation_actual"]
    error = predicted - actual
    slope, intercept = metrics.ols_line(predicted, actual)
    p = {name: metrics.softmax(value) for name, value in z.items()}
    fits = (metrics.exaggeration(p[teacher_name], p[student_name]),
            metrics.exaggeration(p["teacher_actual"], p["student_actual"]))
    result = dict(
        n=int(predicted.size), correlation=_correlation(predicted, actual),
        sign_agreement=float(np.mean(np.sign(predicted) == np.sign(actual))),
        deviation_slope=slope, deviation_intercept=intercept, rms_error=float(np.sqrt(np.mean(error**2))),
        rms_actual=float(np.sqrt(np.mean(actual**2))), mean_predicted=float(np.mean(predicted)),
        mean_actual=float(np.mean(actual)),
        slope_predicted=fits[0].slope, slope_measured=fits[1].slope,
        top1_teacher=metrics.fidelity(p["teacher_predicted"], p["teacher_actual"]).agreement,
        top1_student=metrics.fidelity(p[student_name], p["student_actual"]).agreement)
    for role, name in (("teacher", "teacher_predicted"), ("student", student_name)):
        moved = np.linalg.norm(z[f"{role}_actual"] - z[f"{role}_init"])
        result[f"logit_error_{role}"] = float(np.linalg.norm(z[name] - z[f"{role}_actual"]) / max(moved, 1e-30))
    order = np.array_split(np.argsort(points["phi_teacher_actual"], kind="stable"), groups)
    result["by_confidence"] = [dict(phi_teacher=float(np.mean(points["phi_teacher_actual"][g])),
                                    mean_abs_error=float(np.mean(np.abs(error[g]))),
                                    correlation=_correlation(predicted[g], actual[g]), n=int(g.size))
                               for g in order]
    if split == "train":
        result["by_label"] = {name: dict(mean_abs_error=float(np.mean(np.abs(error[mask]))) if mask.any() else None,
                                         correlation=_correlation(predicted[mask], actual[mask]), n=int(mask.sum()))
                              for name, mask in (("clean", ~prediction.noisy), ("mislabeled", prediction.noisy))}
    if replicates:
        result["intervals"] = _intervals(fits, points, replicates, seed)
    return result
