"""Simulated training on softmax cross-entropy: kernel and linear models, GD and SGD, sweeps in one call.

There is no closed form for cross-entropy (docs/maths.md §4), so these simulators take the steps, in
float64 JAX, on the driver of ``theory.dynamics.driver`` with the gradient function and parameters of
``theory.dynamics.cross_entropy`` (the loss L, its curvature bound h and the losses it covers are there).
Training is function-space gradient descent on the logits, exactly as for the squared loss
(``theory.dynamics.models``):

    Z ← Z − η K ∂L/∂Z(Z),   Z_test ← Z_test − η K_*ᵀ ∂L/∂Z(Z)   (kernel model, K (n, n), K_* (n, m)),
    β ← β − η Φᵀ ∂L/∂Z(Φβ)                                    (linear model f(x) = φ(x)ᵀβ),

which coincide when K = ΦΦᵀ and K_* = ΦΦ_testᵀ. A learning rate with η λ_max(K) h ≥ 2 is refused.

Temperature is a clock: with W = Z/τ the update reads W ← W − (η s/τ²) K (softmax(W) − Q), so a student at
temperature τ moves like a τ = 1 student with learning rate η s/τ², and its logits are τ W — read at τ = 1
it is *sharper* than its unit-temperature copy at the same W.

Minibatch SGD (``batch_size`` = b): step t draws B_t from ``fold_in(key(seed), t)`` (the driver's
``draw_batch``, so kernel and linear models, and the squared loss, draw the same batches for a seed) and
restricts the gradient to it, scaled by n/b: Z ← Z − η (n/b) K[:, B] ∂L/∂Z_B.

Sweeps: :func:`kernel_ce_gd_sweep` runs P independent runs (targets, initial logits, learning rates,
temperatures, weights and seeds may each differ per run) as one ``jax.vmap``-ed, jit-compiled simulation;
the shared kernel product becomes one (n × n)·(n × P·C) matrix product per step. Test logits are not
stepped: the kernel runs carry the dual coefficients A_t = Σ_{s<t} ∂L/∂Z_s (n, C) and the test logits are
Z_test,0 − η K_*ᵀ A_t at the recorded steps only.
"""
from __future__ import annotations

from .._checks import as_array, check_nonempty
from ._validate import as_cross_kernel
from ._validate import as_training_kernel
from ._validate import as_test_features
from ._validate import check_finite
from ._validate import check_stable
from ._validate import gram_largest_eigenvalue
from ._validate import kernel_largest_eigenvalue
from .cross_entropy import CrossEntropyRuns
from .cross_entropy import ce_gradient
from .cross_entropy import prepare
from .driver import Schedule
from .models import Trajectory
from .models import simulate_kernel
from .models import simulate_linear

__all__ = ["kernel_ce_gd", "kernel_ce_gd_sweep", "linear_ce_gd"]


def _check_stable(setup: CrossEntropyRuns, largest: float, matrix: str) -> None:
    check_stable(setup.runs.learning_rate, largest, matrix, curvature=setup.parameters.curvature,
                 describe_run=setup.describe_run)


def kernel_ce_gd_sweep(
    k_train_train,
    targets=None,
    *,
    learning_rate,
    steps: int,
    record_every: int | None = 1,
    checkpoints=None,
    k_train_test=None,
    f_train_0=None,
    f_test_0=None,
    temperature=1.0,
    scale_by_temperature_squared: bool = False,
    onehot_targets=None,
    onehot_weight=0.0,
    batch_size: int | None = None,
    seed=0,
    replace: bool = False,
    teacher_logits=None,
    targets_temperature=None,
) -> Trajectory:
    """P kernel cross-entropy runs in one vmapped, jit-compiled simulation, recording logits.

    Each run p is :func:`kernel_ce_gd` with its own targets, initial logits, learning rate, temperature,
    one-hot weight and seed; an argument given without the run axis is shared by all runs. For a grid of
    hyper-parameters, flatten it: ``lr, tau = np.meshgrid(rates, temperatures); lr.ravel(), tau.ravel()``.
    All runs take the same number of ``steps`` and record at the same steps.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(6, 2))
        >>> labels = np.eye(3)[[0, 1, 2, 0, 1, 2]]
        >>> sweep = kernel_ce_gd_sweep(x @ x.T, labels, learning_rate=0.1, temperature=[1.0, 2.0, 4.0],
        ...                            steps=20, record_every=10)
        >>> sweep.train.shape  # (P runs, recorded steps, n, C)
        (3, 3, 6, 3)

    Args:
        k_train_train: (n, n) symmetric PSD kernel K.
        targets: (n, C) or (P, n, C) probabilities Q (one-hot labels, teacher probabilities, mixtures); soft
            targets at τ ≠ 1 need ``targets_temperature`` (below), or pass ``teacher_logits`` instead.
        learning_rate: η > 0, scalar or (P,), with η λ_max(K) h < 2 (module docstring).
        steps: number of steps t ≥ 0 (shared).
        record_every: record every k ≥ 1 steps (the final step is always recorded); None: only at
            ``checkpoints``.
        checkpoints: optional strictly increasing steps in [0, steps] to record as well.
        k_train_test: optional (n, m) train–test kernel K_*.
        f_train_0: optional (n, C) or (P, n, C) initial logits (default zeros).
        f_test_0: optional (m, C) or (P, m, C) initial test logits (default zeros); needs ``k_train_test``.
        temperature: τ > 0, scalar or (P,).
        scale_by_temperature_squared: multiply the ``targets`` term by τ² (shared by all runs).
        onehot_targets: optional (n, C) or (P, n, C) probabilities of the τ = 1 term.
        onehot_weight: w ∈ [0, 1], scalar or (P,); > 0 needs ``onehot_targets``.
        batch_size: None for full batch, else b in [1, n] for minibatch SGD (shared).
        seed: integer seed of the batch draws (SGD only), scalar or (P,).
        replace: draw batches with replacement (SGD only).
        teacher_logits: (n, C) or (P, n, C) teacher logits Z_te instead of ``targets``: Q = softmax(Z_te/τ)
            with each run's τ (the teacher's temperature is applied here, in one place).
        targets_temperature: the temperature the probability ``targets`` are at, scalar or (P,); must equal
            ``temperature``. Required when some τ ≠ 1 and the targets are not one-hot: probability targets
            are never re-tempered (``theory.dynamics.cross_entropy.tempered_targets``).

    Returns:
        ``Trajectory`` with ``steps`` (R,), ``train`` (P, R, n, C), ``test`` (P, R, m, C) or None,
        ``weights`` None.

    Raises:
        ValueError: non-finite inputs, mismatched shapes or run counts, non-symmetric K, targets that are
            not probabilities, C < 2, learning_rate ≤ 0 or η λ_max h ≥ 2, temperature ≤ 0, onehot_weight
            outside [0, 1] or > 0 without onehot_targets, bad counts; soft targets at τ ≠ 1 without
            ``targets_temperature`` = τ, or both/neither of ``targets`` and ``teacher_logits``; a K that is
            not positive semi-definite or has no rows; records that would not fit in memory.
        FloatingPointError: non-finite recorded logits.
    """
    kernel = as_training_kernel(k_train_train, "k_train_train")
    n = kernel.shape[0]
    cross = as_cross_kernel(k_train_test, n, f_test_0)
    m = 0 if cross is None else cross.shape[1]
    setup = prepare(n, targets, learning_rate=learning_rate, temperature=temperature,
                    scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
                    onehot_weight=onehot_weight, seed=seed, batch_size=batch_size, replace=replace,
                    initials={"f_train_0": (f_train_0, n), "f_test_0": (f_test_0, m)},
                    teacher_logits=teacher_logits, targets_temperature=targets_temperature)
    schedule = Schedule(steps, record_every, checkpoints)
    _check_stable(setup, kernel_largest_eigenvalue(kernel), "k_train_train")
    recorded, train, test = simulate_kernel(
        ce_gradient, kernel, setup.runs, setup.targets, setup.parameters, schedule, cross=cross,
        start=setup.runs.values["f_train_0"], test_start=setup.runs.values["f_test_0"])
    check_finite(setup.runs.learning_rate, train, test)
    return Trajectory(recorded, train, test, None)


def kernel_ce_gd(k_train_train, targets=None, *, learning_rate: float, steps: int, record_every: int | None = 1,
                 checkpoints=None, k_train_test=None, f_train_0=None, f_test_0=None, temperature: float = 1.0,
                 scale_by_temperature_squared: bool = False, onehot_targets=None, onehot_weight: float = 0.0,
                 batch_size: int | None = None, seed: int = 0, replace: bool = False, teacher_logits=None,
                 targets_temperature=None) -> Trajectory:
    """Function-space gradient descent of a kernel model's logits on softmax cross-entropy.

        Z ← Z − η K ∂L/∂Z,   ∂L/∂z_i = (1 − w)(s/τ)(softmax(z_i/τ) − q_i) + w (softmax(z_i) − y_i)

    (module docstring; docs/maths.md §4). With one-hot ``targets`` this is one-hot training; with
    ``teacher_logits`` = Z_te (or ``targets`` = softmax(Z_te/τ) and ``targets_temperature`` = τ) it is
    distillation at temperature τ.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(6, 2))
        >>> labels = np.eye(2)[[0, 1, 0, 1, 0, 1]]
        >>> run = kernel_ce_gd(x @ x.T, labels, learning_rate=0.1, steps=100, record_every=50)
        >>> run.steps.tolist(), run.train.shape
        ([0, 50, 100], (3, 6, 2))

    Args:
        k_train_train: (n, n) symmetric PSD kernel K.
        targets: (n, C) probabilities Q.
        learning_rate: η > 0 with η λ_max(K) h < 2 (h: the curvature bound of the module docstring).
        steps: number of steps t ≥ 0.
        record_every: record every k ≥ 1 steps (the final step is always recorded); None: only at
            ``checkpoints``.
        checkpoints: optional strictly increasing steps in [0, steps] to record as well.
        k_train_test: optional (n, m) train–test kernel K_*.
        f_train_0: optional (n, C) initial logits (default zeros).
        f_test_0: optional (m, C) initial test logits (default zeros); needs ``k_train_test``.
        temperature: τ > 0 of the ``targets`` term.
        scale_by_temperature_squared: multiply the ``targets`` term by τ².
        onehot_targets: optional (n, C) probabilities Y of a τ = 1 term.
        onehot_weight: w ∈ [0, 1] of the τ = 1 term (> 0 needs ``onehot_targets``).
        batch_size: None for full batch, else b in [1, n]: gradient on b points, scaled by n/b.
        seed: integer seed of the batch draws (SGD only).
        replace: draw batches with replacement (SGD only).
        teacher_logits: (n, C) teacher logits Z_te instead of ``targets``: Q = softmax(Z_te/τ).
        targets_temperature: the temperature of the probability ``targets``; must equal ``temperature``, and
            is required at τ ≠ 1 unless the targets are one-hot.

    Returns:
        ``Trajectory`` with ``train`` (R, n, C) logits, ``test`` (R, m, C) or None, ``weights`` None.

    Raises:
        ValueError, FloatingPointError: as :func:`kernel_ce_gd_sweep`, and for any per-run axis.
    """
    for name, value, ndim in (("targets", targets, 2), ("f_train_0", f_train_0, 2), ("f_test_0", f_test_0, 2),
                              ("onehot_targets", onehot_targets, 2), ("learning_rate", learning_rate, 0),
                              ("temperature", temperature, 0), ("onehot_weight", onehot_weight, 0),
                              ("seed", seed, 0), ("teacher_logits", teacher_logits, 2),
                              ("targets_temperature", targets_temperature, 0)):
        as_array(value, name, ndim=ndim, dtype=None, finite=False, allow_none=True,
                 what="a single run; kernel_ce_gd_sweep takes a run axis")
    sweep = kernel_ce_gd_sweep(
        k_train_train, targets, learning_rate=learning_rate, steps=steps, record_every=record_every,
        checkpoints=checkpoints, k_train_test=k_train_test, f_train_0=f_train_0, f_test_0=f_test_0,
        temperature=temperature,
        scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
        onehot_weight=onehot_weight, batch_size=batch_size, seed=seed, replace=replace,
        teacher_logits=teacher_logits, targets_temperature=targets_temperature)
    return Trajectory(sweep.steps, sweep.train[0], None if sweep.test is None else sweep.test[0], None)


def linear_ce_gd(features_train, targets=None, *, learning_rate: float, steps: int, record_every: int | None = 1,
                 checkpoints=None, features_test=None, weights_0=None, temperature: float = 1.0,
                 scale_by_temperature_squared: bool = False, onehot_targets=None, onehot_weight: float = 0.0,
                 batch_size: int | None = None, seed: int = 0, replace: bool = False, teacher_logits=None,
                 targets_temperature=None) -> Trajectory:
    """(Minibatch) gradient descent of a linear model's weights on softmax cross-entropy.

        β ← β − η Φᵀ ∂L/∂Z(Φβ)                    (full batch),
        β ← β − η (n/b) Φ_Bᵀ ∂L/∂Z_B(Φ_B β)       (a batch B of b points),

    which is :func:`kernel_ce_gd` with K = ΦΦᵀ and K_* = ΦΦ_testᵀ (the same batches for the same seed).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(8, 3))
        >>> labels = np.eye(2)[(x[:, 0] > 0).astype(int)]
        >>> run = linear_ce_gd(x, labels, learning_rate=0.05, steps=200, record_every=100)
        >>> run.weights.shape, bool(run.weights[-1, 0, 1] > run.weights[-1, 0, 0])
        ((3, 3, 2), True)

    Args:
        features_train: (n, p) features Φ.
        targets: (n, C) probabilities Q.
        learning_rate: η > 0 with η λ_max(ΦΦᵀ) h < 2.
        steps, record_every, checkpoints: as :func:`kernel_ce_gd`.
        features_test: optional (m, p) test features.
        weights_0: optional (p, C) initial weights (default zeros).
        temperature, scale_by_temperature_squared, onehot_targets, onehot_weight, batch_size, seed, replace,
            teacher_logits, targets_temperature: as :func:`kernel_ce_gd`.

    Returns:
        ``Trajectory`` with ``weights`` (R, p, C), ``train`` = Φβ (R, n, C), ``test`` (R, m, C) or None.

    Raises:
        ValueError: as :func:`kernel_ce_gd`, and features_test with a different p.
        FloatingPointError: non-finite weights.
    """
    features = check_nonempty(as_array(features_train, "features_train", ndim=2), "features_train",
                              what="training point")
    n, p = features.shape
    test_features = as_test_features(features_test, p)
    for name, value in (("targets", targets), ("weights_0", weights_0), ("onehot_targets", onehot_targets),
                        ("teacher_logits", teacher_logits)):
        as_array(value, name, ndim=2, dtype=None, finite=False, allow_none=True)
    setup = prepare(n, targets, learning_rate=learning_rate, temperature=temperature,
                    scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
                    onehot_weight=onehot_weight, seed=seed, batch_size=batch_size, replace=replace,
                    initials={"weights_0": (weights_0, p)}, teacher_logits=teacher_logits,
                    targets_temperature=targets_temperature)
    schedule = Schedule(steps, record_every, checkpoints)
    if setup.runs.count != 1:
        raise ValueError("linear_ce_gd takes scalar learning_rate, temperature, onehot_weight and seed")
    _check_stable(setup, gram_largest_eigenvalue(features), "the Gram matrix ΦΦᵀ of features_train")
    recorded, weights = simulate_linear(ce_gradient, features, setup.runs, setup.targets, setup.parameters,
                                        schedule, start=setup.runs.values["weights_0"])
    weights = weights[0]
    train = features @ weights
    test = None if test_features is None else test_features @ weights
    check_finite(setup.runs.learning_rate, weights, train, test)
    return Trajectory(recorded, train, test, weights)
