"""Regime maps of kernel self-distillation under softmax cross-entropy (claims C1 and C5, docs/maths.md §1, §4).

A kernel teacher (RBF kernel, lengthscale = median pairwise distance of the training inputs) is trained by
:func:`theory.dynamics.kernel_ce_gd` on one-hot labels (optionally with symmetric label noise) for T
steps; a fresh student (logits 0, the same kernel) distils the teacher's training-set probabilities
softmax(Z_te/τ) at temperature τ, with the τ² factor (so its clock does not depend on τ), for t̃ steps.
Both are read at τ = 1. Over the grid (noise rate, T, τ, t̃) :func:`regime_map` reports

* teacher and student test accuracy (C5: the student beats the teacher);
* on train and test, the confidence-exaggeration statistics of :func:`confidence_diagnostics` (C1: the OLS
  slope of φ(p_st) on φ(p_te) exceeds 1 while the student is below the teacher on low-confidence points);
* the energy-weighted progress of the logits on top and bottom eigendirections of K (C3, measured as in
  docs/maths.md §6 against the centred training labels Y − 1/C, since cross-entropy ignores a constant shift
  of a point's logits).

All runs of a map go through one vmapped simulation per role (teachers: one run per noise rate; students:
one run per (noise rate, T, τ)), advanced from checkpoint to checkpoint so that only the requested steps
are stored.

Why the slope can stay below 1 while the student is below the teacher on nearly every low-confidence
point (measured with this module; numbers in ``figures/exaggeration_theory.py`` and ``figures/generalization.py``):

* **student budget** (the main cause): at τ = 1 and t̃ = T on digits the student is below the teacher on
  98-99% of *all* training points and above it on 0% of high-confidence ones (``frac_below``,
  ``frac_high_above``): it is uniformly less confident, because soft targets give a smaller residual than
  one-hot labels and cross-entropy confidence grows only logarithmically in time. ``spread_ratio`` < 1 (a
  compressed copy) gives slope < 1; the slope rises monotonically with t̃ and crosses 1 near t̃ ≈ 2-4T on
  digits (on the Gaussian mixture it levels off at 0.99-1.01; on MNIST-1D it stays below 1 up to t̃ = 4T).
  A high-confidence
  fraction above 0 is the check that separates low-confidence underfitting from plain under-training.
* **temperature**: with the τ² factor, τ ≥ 2 reaches slope > 1 at t̃ = T on digits (T ≥ 400).
* **saturation at the clip**: never occurs in these budgets (``clipped_fraction`` = 0; logits grow like log t),
  and the slope through binned means equals the OLS slope to ~0.003.
* **label noise**: lowers the slope through ``correlation`` (r ≈ 0.94-0.97 at 20-40% noise against 0.99-1.0
  clean): the teacher's confidence carries a noise-fitting part the student does not reproduce, which dilutes
  the OLS slope below 1 even where the student's spread equals the teacher's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from .data import Dataset
from .data import load_dataset
from .data import load_gaussian_mixture
from .dynamics import kernel_ce_gd_sweep
from .kernels import median_lengthscale  # noqa: F401  (theory.regimes.median_lengthscale, kept for one release)
from .metrics import accuracy
from .metrics import confidence_diagnostics  # re-exported here for one release
from .metrics import softmax
from .spectral import Spectrum
from .spectral import group_progress

__all__ = [
    "KernelTask",
    "RegimeMap",
    "confidence_diagnostics",
    "kernel_task",
    "median_lengthscale",
    "regime_map",
]

#: The descent limit of cross-entropy GD on a kernel: η λ_max(K) h < 2 with curvature bound h = 1/2 (τ = 1,
#: or any τ with the τ² factor), i.e. η < 4/λ_max (``theory.dynamics_ce``).
_DESCENT_LIMIT = 4.0


#: ``kernel_task("mixture")``: :func:`theory.data.load_gaussian_mixture` with 5 classes in 10 dimensions, σ = 1,
#: 400 test points and class means on a regular simplex 3√2 apart (the typical distance between the random means
#: of norm 3 that a private generator used before, so the task is as hard as it was).
_MIXTURE = dict(num_classes=5, dim=10, separation=3.0 * np.sqrt(2.0), n_test=400)


@dataclass(frozen=True, eq=False)
class KernelTask:
    """A dataset with its RBF kernels, spectrum and cross-entropy learning rate.

    Attributes:
        data: the clean :class:`~theory.data.Dataset` (noise is added per run by :func:`regime_map`).
        k_train_train: (n, n) RBF kernel K of the training inputs.
        k_train_test: (n, m) train–test kernel K_*.
        lengthscale: ℓ, the median pairwise distance of the training inputs.
        spectrum: :class:`~theory.spectral.Spectrum` of K.
        learning_rate: η = ``rate_fraction`` · 4/λ_max(K), within cross-entropy's descent limit.
    """

    data: Dataset
    k_train_train: np.ndarray
    k_train_test: np.ndarray
    lengthscale: float
    spectrum: Spectrum
    learning_rate: float

    def __repr__(self) -> str:
        return (f"KernelTask(data={self.data.name!r}, n={self.data.n_train}, m={self.data.n_test}, "
                f"lengthscale={self.lengthscale:.4g}, lambda_max={self.spectrum.eigenvalues[0]:.4g}, "
                f"learning_rate={self.learning_rate:.4g})")


def kernel_task(dataset: str = "digits", *, n_train: int | None = None, seed: int = 0,
                rate_fraction: float = 0.95) -> KernelTask:
    """Load a dataset and build its RBF kernels (lengthscale = median pairwise distance) and spectrum.

    Example:
        >>> task = kernel_task("mixture", n_train=200)
        >>> task.k_train_train.shape, task.data.num_classes
        ((200, 200), 5)

    Args:
        dataset: ``"digits"``, ``"mnist1d"`` (``theory.data``) or ``"mixture"`` (``theory.data``'s
            ``"gaussian-mixture"``: 5 isotropic Gaussian classes in 10 dimensions, means 3√2 σ apart, 400 test points).
        n_train: training points to keep (stratified for digits / MNIST-1D; default all, 800 for the mixture).
        seed: seed of the split / generation.
        rate_fraction: η as a fraction of the descent limit 4/λ_max, in (0, 1).

    Returns:
        :class:`KernelTask`.

    Raises:
        ValueError: unknown dataset, rate_fraction outside (0, 1), or what the loader raises.
    """
    if not (isinstance(rate_fraction, (int, float)) and 0 < rate_fraction < 1):
        raise ValueError(f"rate_fraction must lie in (0, 1), got {rate_fraction!r}")
    if dataset == "mixture":
        data = load_gaussian_mixture(seed=seed, n_train=800 if n_train is None else n_train, **_MIXTURE)
    else:
        data = load_dataset(dataset, seed=seed, n_train=n_train)
    lengthscale = kernels.median_lengthscale(data.x_train)
    k_train_train = kernels.rbf(data.x_train, lengthscale=lengthscale)
    spectrum = Spectrum.from_kernel(k_train_train)
    return KernelTask(data, k_train_train, kernels.rbf(data.x_train, data.x_test, lengthscale=lengthscale),
                      lengthscale, spectrum, rate_fraction * _DESCENT_LIMIT / float(spectrum.eigenvalues[0]))


def _checkpoint_logits(task: KernelTask, targets, checkpoints, **options):
    """Logits of a vmapped CE sweep at each of the increasing ``checkpoints``: train (P, K, n, C), test (P, K, m, C).

    One run of the driver recording only at the checkpoints (full batch, from zero logits).
    """
    run = kernel_ce_gd_sweep(task.k_train_train, targets, learning_rate=task.learning_rate,
                             steps=int(checkpoints[-1]), record_every=None, checkpoints=checkpoints,
                             k_train_test=task.k_train_test, **options)
    return run.train, run.test


def _check_steps(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer) or np.any(array < 1) \
            or np.any(np.diff(array) <= 0):
        raise ValueError(f"{name} must be a non-empty increasing 1-D sequence of integers >= 1, got {values!r}")
    return array.astype(np.int64)


def _check_values(name: str, values, low: float, high: float, closed_low: bool) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    ok_low = array >= low if closed_low else array > low
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)) or not np.all(ok_low & (array < high)):
        interval = f"{'[' if closed_low else '('}{low}, {high})"
        raise ValueError(f"{name} must be a non-empty 1-D sequence of values in {interval}, got {values!r}")
    return array


@dataclass(frozen=True, eq=False)
class RegimeMap:
    """Everything :func:`regime_map` measured, on the grid (noise rate N, teacher steps T, temperature S,
    student steps U).

    Attributes:
        axes: ``{"noise_rates": (N,), "teacher_steps": (T,), "temperatures": (S,), "student_steps": (U,)}``.
        teacher: dict of (N, T) arrays: ``test_accuracy``, ``train_accuracy`` (against the noisy labels),
            ``train_accuracy_clean``, ``progress_top``, ``progress_bottom``.
        student: dict of (N, T, S, U) arrays: ``test_accuracy``, ``train_accuracy_clean``,
            ``progress_top``, ``progress_bottom``, and ``train_<key>`` / ``test_<key>`` for every key of
            :func:`confidence_diagnostics`.
        logits: None, or (with ``keep_logits``) dict of ``teacher_train`` (N, T, n, C), ``teacher_test``
            (N, T, m, C), ``student_train`` (N, T, S, U, n, C), ``student_test`` (N, T, S, U, m, C).
        settings: dataset, n, m, lengthscale, learning rate, eigen groups.
    """

    axes: dict
    teacher: dict
    student: dict
    logits: dict | None
    settings: dict

    def as_dict(self) -> dict:
        """Axes, settings and all measured arrays (no logits), ready for ``figures.output.to_jsonable``."""
        return dict(axes=self.axes, settings=self.settings, teacher=self.teacher, student=self.student)

    def table(self) -> list:
        """One row (a dict of Python numbers) per grid point: the numbers of the regime table."""
        rows = []
        for index in np.ndindex(*self.student["test_accuracy"].shape):
            noise, teacher_index, temperature, student_index = index
            row = dict(noise_rate=float(self.axes["noise_rates"][noise]),
                       teacher_steps=int(self.axes["teacher_steps"][teacher_index]),
                       temperature=float(self.axes["temperatures"][temperature]),
                       student_steps=int(self.axes["student_steps"][student_index]),
                       teacher_test_accuracy=float(self.teacher["test_accuracy"][noise, teacher_index]))
            row.update({key: float(value[index]) for key, value in self.student.items()})
            rows.append(row)
        return rows

    def __repr__(self) -> str:
        shape = tuple(len(self.axes[key]) for key in ("noise_rates", "teacher_steps", "temperatures",
                                                      "student_steps"))
        return f"RegimeMap(dataset={self.settings['dataset']!r}, grid(N, T, S, U)={shape})"


def regime_map(task: KernelTask, *, teacher_steps, student_steps, temperatures=(1.0,), noise_rates=(0.0,),
               noise_seed: int = 0, top=(0, 10), bottom=(20, 100), bins: int = 20,
               keep_logits: bool = False) -> RegimeMap:
    """Kernel self-distillation with cross-entropy over (noise rate, T, τ, t̃): accuracies, exaggeration, progress.

    Teacher n: Z ← Z − η K (softmax(Z) − Y_noisy) from 0 for T steps. Student: from 0,
    Z ← Z − η K τ (softmax(Z/τ) − softmax(Z_te/τ)) (τ² factor included) for t̃ steps. φ statistics compare
    softmax(Z_st) with softmax(Z_te) on the training and the (clean) test points; progress is
    :func:`theory.spectral.group_progress` of the logits against Y_noisy − 1/C on the eigen-index ranges
    ``top`` and ``bottom``.

    Example:
        >>> task = kernel_task("mixture", n_train=100)
        >>> result = regime_map(task, teacher_steps=[20], student_steps=[10, 20], temperatures=[1.0, 4.0],
        ...                     bottom=(20, 60))
        >>> result.student["test_slope"].shape
        (1, 1, 2, 2)

    Args:
        task: :class:`KernelTask` (kernels, learning rate η).
        teacher_steps: increasing integers T ≥ 1, shape (T,).
        student_steps: increasing integers t̃ ≥ 1, shape (U,).
        temperatures: τ > 0, shape (S,).
        noise_rates: symmetric label-noise rates in [0, 1), shape (N,) (``Dataset.with_label_noise``).
        noise_seed: seed of the label noise.
        top, bottom: eigen-index ranges [start, stop) of the progress groups, within [0, n).
        bins: equal-count bins of :func:`confidence_diagnostics`.
        keep_logits: also return every logit array (memory: (N·T·S·U)·(n + m)·C floats).

    Returns:
        :class:`RegimeMap`.

    Raises:
        ValueError: steps not increasing positive integers, τ ≤ 0, noise rates outside [0, 1), eigen ranges
            outside [0, n), bad bins.
    """
    teacher_steps = _check_steps("teacher_steps", teacher_steps)
    student_steps = _check_steps("student_steps", student_steps)
    temperatures = _check_values("temperatures", temperatures, 0.0, np.inf, closed_low=False)
    noise_rates = _check_values("noise_rates", noise_rates, 0.0, 1.0, closed_low=True)
    data, spectrum = task.data, task.spectrum
    n, classes = data.n_train, data.num_classes
    for name, (start, stop) in (("top", top), ("bottom", bottom)):
        if not 0 <= start < stop <= n:
            raise ValueError(f"{name} must be an eigen-index range [start, stop) within [0, {n}], got {(start, stop)}")
    noisy = [data.with_label_noise(float(rate), seed=noise_seed) for rate in noise_rates]
    labels = np.stack([d.one_hot_train() for d in noisy])  # (N, n, C)
    groups = [np.arange(*top), np.arange(*bottom)]

    teacher_train, teacher_test = _checkpoint_logits(task, labels, teacher_steps)  # (N, T, n|m, C)
    shape = (len(noise_rates), len(teacher_steps), len(temperatures))
    # one run per (noise, T, τ): the teacher's logits, tempered by the simulator (softmax(Z_te/τ), one place)
    teacher_logits = np.stack([teacher_train[i, j] for i, j, _ in np.ndindex(*shape)])
    student_train, student_test = _checkpoint_logits(
        task, None, student_steps, teacher_logits=teacher_logits,
        temperature=np.tile(temperatures, shape[0] * shape[1]), scale_by_temperature_squared=True)
    student_train = student_train.reshape(shape + student_train.shape[1:])  # (N, T, S, U, n, C)
    student_test = student_test.reshape(shape + student_test.shape[1:])

    def progress(logits, noise):
        centred = labels[noise] - 1.0 / classes
        return [float(group_progress(spectrum, logits, centred, group)) for group in groups]

    teacher = {key: np.zeros(shape[:2]) for key in ("test_accuracy", "train_accuracy", "train_accuracy_clean",
                                                    "progress_top", "progress_bottom")}
    for noise, t in np.ndindex(*shape[:2]):
        teacher["test_accuracy"][noise, t] = accuracy(softmax(teacher_test[noise, t]), data.y_test)
        teacher["train_accuracy"][noise, t] = accuracy(softmax(teacher_train[noise, t]), noisy[noise].y_train)
        teacher["train_accuracy_clean"][noise, t] = accuracy(softmax(teacher_train[noise, t]), data.y_train)
        teacher["progress_top"][noise, t], teacher["progress_bottom"][noise, t] = progress(teacher_train[noise, t], noise)

    student: dict = {}
    full = shape + (len(student_steps),)
    for index in np.ndindex(*full):
        noise, t = index[:2]
        z_train, z_test = student_train[index], student_test[index]
        values = dict(test_accuracy=accuracy(softmax(z_test), data.y_test),
                      train_accuracy_clean=accuracy(softmax(z_train), data.y_train))
        values["progress_top"], values["progress_bottom"] = progress(z_train, noise)
        for split, teacher_logits, student_logits in (("train", teacher_train[noise, t], z_train),
                                                      ("test", teacher_test[noise, t], z_test)):
            diagnostics = confidence_diagnostics(softmax(teacher_logits), softmax(student_logits), bins=bins)
            values.update({f"{split}_{key}": value for key, value in diagnostics.items()})
        for key, value in values.items():
            student.setdefault(key, np.zeros(full))[index] = float(value)

    logits = None
    if keep_logits:
        logits = dict(teacher_train=teacher_train, teacher_test=teacher_test, student_train=student_train,
                      student_test=student_test)
    settings = dict(dataset=data.name, n_train=n, n_test=data.n_test, num_classes=classes,
                    lengthscale=task.lengthscale, learning_rate=task.learning_rate,
                    lambda_max=float(spectrum.eigenvalues[0]), top=list(top), bottom=list(bottom),
                    noise_seed=noise_seed, realised_noise=[d.realised_noise_rate for d in noisy])
    axes = dict(noise_rates=noise_rates, teacher_steps=teacher_steps, temperatures=temperatures,
                student_steps=student_steps)
    return RegimeMap(axes, teacher, student, logits, settings)
