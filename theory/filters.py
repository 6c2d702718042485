"""Spectral filters: what a training procedure does to each eigendirection of the kernel.

A training procedure on a linear / kernel model with squared loss, started from outputs F₀, ends at
(SCIENCE.md §3)

    F = F₀ + g(K) (Y − F₀),     g(K) = U diag(g(λ)) Uᵀ,

and distillation multiplies filters: a student trained by g_s on a teacher's training outputs g_T(K) Y has
outputs g_s(K) g_T(K) Y. Filters here are small immutable objects:

============================  ==========================================  =============================
constructor                    g(λ)                                        g(λ)/λ as λ → 0
============================  ==========================================  =============================
``gd(learning_rate, steps)``   1 − (1 − ηλ)^t                               η t
``flow(time)``                 1 − e^{−λt}                                  t
``ridge(strength)``            λ / (λ + c)                                  1/c
``interpolate()``              1 on λ > 0, 0 on the null space              (1/λ on λ > 0, 0 on the null space)
``student * teacher``          g_s(λ) g_T(λ)                                (g_s/λ) g_T
``mix(ξ, teacher)``            1 − ξ + ξ g_T(λ)   (targets, not a model)    —
``late_switch(...)``           see :func:`late_switch`                      —
============================  ==========================================  =============================

Parameters (``steps``, ``time``, ``strength``) may be arrays of any shape S: calling the filter on
eigenvalues ``(n,)`` then returns factors of shape ``S + (n,)``, e.g. a whole trajectory ``(T, n)``.
Composed filters broadcast their parameter shapes with numpy's rules.

Example:
    >>> import numpy as np, theory as th
    >>> teacher = th.gd(learning_rate=0.1, steps=100)
    >>> student = th.gd(learning_rate=0.1, steps=100) * teacher
    >>> student
    gd(lr=0.1, steps=100) * gd(lr=0.1, steps=100)
    >>> bool(np.allclose(student(np.array([1.0, 0.01])), teacher(np.array([1.0, 0.01])) ** 2))
    True
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "Filter",
    "gd",
    "flow",
    "ridge",
    "interpolate",
    "mix",
    "late_switch",
    "compose",
]

_EPS = np.finfo(np.float64).eps


def _as_eigenvalues(eigenvalues) -> np.ndarray:
    """Validate eigenvalues ``(n,)`` (or take them from a Spectrum)."""
    eigenvalues = getattr(eigenvalues, "eigenvalues", eigenvalues)
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    if eigenvalues.ndim != 1:
        raise ValueError(f"`eigenvalues` must be 1-D (n,), got shape {eigenvalues.shape}.")
    if not np.all(np.isfinite(eigenvalues)):
        raise ValueError("`eigenvalues` contains NaN or infinite entries.")
    if np.any(eigenvalues < 0):
        raise ValueError(
            f"`eigenvalues` must be >= 0 (a PSD kernel), got minimum {eigenvalues.min():.3g}; build them "
            "with theory.Spectrum, which clips round-off negatives."
        )
    return eigenvalues


def _parameter(value, name: str, *, integer: bool = False, positive: bool = False) -> np.ndarray:
    """Validate a (possibly array-valued) filter parameter; returns a float64 array of shape S."""
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` must be finite, got {value!r}.")
    if positive and np.any(array <= 0):
        raise ValueError(f"`{name}` must be > 0, got minimum {array.min():.4g}.")
    if np.any(array < 0):
        raise ValueError(f"`{name}` must be >= 0 (no negative training time), got minimum {array.min():.4g}.")
    if integer and np.any(array != np.round(array)):
        raise ValueError(f"`{name}` must be whole numbers of steps, got {value!r}.")
    return array


def _format(array: np.ndarray) -> str:
    if array.ndim == 0:
        value = float(array)
        return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:.4g}"
    flat = array.ravel()
    if flat.size <= 4:
        return "[" + ", ".join(_format(np.asarray(v)) for v in flat) + "]"
    return f"[{_format(np.asarray(flat[0]))}, …, {_format(np.asarray(flat[-1]))}] {array.shape}"


def _log_ratio_scale(fraction):
    """ψ(g) = −log(1 − g)/g, with ψ(0) = 1 (used for effective times where progress is small)."""
    safe = np.where(fraction == 0.0, 0.5, fraction)  # placeholder keeps log1p away from −1
    return np.where(fraction == 0.0, 1.0, -np.log1p(-safe) / safe)


class Filter:
    """A spectral filter g(λ): call it on eigenvalues ``(n,)`` to get factors ``S + (n,)``.

    Subclasses implement ``_factors``, ``_complement`` (1 − g, computed without cancellation) and, for
    filters that describe a trained model (g(0) = 0), ``_over_eigenvalue`` (g(λ)/λ, finite at λ = 0).
    """

    #: True when the filter describes a model trained from its initialisation (g(0) = 0), so that test
    #: predictions exist; False for target transforms such as :func:`mix`.
    trains: bool = True

    @property
    def batch_shape(self) -> tuple:
        """Shape S of the filter's parameters (the trajectory axes of its factors)."""
        return ()

    def __call__(self, eigenvalues) -> np.ndarray:
        """Factors g(λ), shape ``S + (n,)``."""
        return self._factors(_as_eigenvalues(eigenvalues))

    def over_eigenvalue(self, eigenvalues) -> np.ndarray:
        """g(λ)/λ, shape ``S + (n,)``, finite at λ = 0 (its limit), never formed by dividing by λ."""
        return self._over_eigenvalue(_as_eigenvalues(eigenvalues))

    def complement(self, eigenvalues) -> np.ndarray:
        """1 − g(λ), shape ``S + (n,)``, accurate where g → 1 (no cancellation)."""
        return self._complement(_as_eigenvalues(eigenvalues))

    def effective_time(self, eigenvalues, learning_rate: float | None = None) -> np.ndarray:
        """Effective training time τ(λ) = −ln(1 − g(λ)) / λ (SCIENCE.md §3).

        For a gradient-flow filter τ = t on every direction; a distilled student has τ increasing in λ (the
        exaggerated-bias theorem). With ``learning_rate`` η the time is in GD steps: λ is replaced by
        ρ = −ln(1 − ηλ), so that ``gd(η, t)`` has τ = t; directions with ηλ ≥ 1 give NaN there (one step
        completes or overshoots them).

        Computed without cancellation: −ln(complement)/λ where g ≥ ½, and (g/λ)·ψ(g) with
        ψ(g) = −log1p(−g)/g where g < ½ — finite at λ = 0 (where it equals lim g/λ). Directions whose progress
        is complete (1 − g = 0) give +inf; factors outside [0, 1) give NaN.

        Args:
            eigenvalues: ``(n,)``.
            learning_rate: optional η to measure time in GD steps.

        Returns:
            ``S + (n,)`` effective times.
        """
        eigenvalues = _as_eigenvalues(eigenvalues)
        factors = self._factors(eigenvalues)
        complement = self._complement(eigenvalues)
        over = self._over_eigenvalue(eigenvalues)
        if learning_rate is None:
            rate, rate_over_eigenvalue = eigenvalues, np.ones_like(eigenvalues)
        else:
            scaled = float(learning_rate) * eigenvalues
            defined = scaled < 1.0  # where ηλ ≥ 1 one step completes or overshoots: no time in steps
            scaled = np.where(defined, scaled, 0.0)
            rate = np.where(defined, -np.log1p(-scaled), np.nan)
            rate_over_eigenvalue = float(learning_rate) * np.where(defined, _log_ratio_scale(scaled), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            small = over * _log_ratio_scale(np.clip(factors, 0.0, 0.5)) / rate_over_eigenvalue
            large = -np.log(complement) / np.where(rate > 0, rate, 1.0)
        tau = np.where(factors < 0.5, small, large)
        tau = np.where(complement <= 0.0, np.inf, tau)
        return np.where((factors < 0.0) | (factors > 1.0) | np.isnan(rate), np.nan, tau)

    def __mul__(self, other: "Filter") -> "Filter":
        if not isinstance(other, Filter):
            return NotImplemented
        return compose(self, other)

    # subclasses ---------------------------------------------------------------------------------------
    def _factors(self, eigenvalues):
        raise NotImplementedError

    def _complement(self, eigenvalues):
        return 1.0 - self._factors(eigenvalues)

    def _over_eigenvalue(self, eigenvalues):
        raise TypeError(
            f"{self!r} is a target transform, not a trained model: it has no test predictions. Compose it "
            "with a student filter, e.g. th.gd(...) * th.mix(teacher_weight, teacher)."
        )


class _GradientDescent(Filter):
    def __init__(self, learning_rate, steps):
        self.learning_rate = float(_parameter(learning_rate, "learning_rate", positive=True))
        self.steps = _parameter(steps, "steps", integer=True)

    @property
    def batch_shape(self):
        return self.steps.shape

    def _scaled(self, eigenvalues):
        scaled = self.learning_rate * eigenvalues
        if scaled.size and scaled.max() >= 2.0:
            raise ValueError(
                f"gradient descent is unstable: learning_rate * lambda_max = {scaled.max():.4g} >= 2. Use "
                f"learning_rate < 2 / lambda_max = {2.0 / eigenvalues.max():.4g} (<= {1.0 / eigenvalues.max():.4g} "
                "for monotone progress)."
            )
        return scaled

    def _power(self, scaled, steps):
        """(1 − x)^t, via exp(t·log1p(−x)) where x < 1 (accurate for small x), directly otherwise."""
        below = scaled < 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            smooth = np.exp(steps * np.log1p(-np.where(below, scaled, 0.0)))
        return np.where(below, smooth, (1.0 - scaled) ** steps)

    def _complement(self, eigenvalues):
        return self._power(self._scaled(eigenvalues), self.steps[..., None])

    def _factors(self, eigenvalues):
        scaled = self._scaled(eigenvalues)
        steps = self.steps[..., None]
        below = scaled < 1.0
        smooth = -np.expm1(steps * np.log1p(-np.where(below, scaled, 0.0)))
        return np.where(below, smooth, 1.0 - self._power(scaled, steps))

    def _over_eigenvalue(self, eigenvalues):
        # g/λ = η (1 − (1 − x)^t)/x with x = ηλ, and its limit η t at x = 0.
        scaled = self._scaled(eigenvalues)
        factors = self._factors(eigenvalues)
        safe = np.where(scaled == 0.0, 1.0, scaled)
        steps = np.broadcast_to(self.steps[..., None], factors.shape)
        return self.learning_rate * np.where(scaled == 0.0, steps, factors / safe)

    def __repr__(self):
        return f"gd(lr={self.learning_rate:g}, steps={_format(self.steps)})"


class _GradientFlow(Filter):
    def __init__(self, time):
        self.time = _parameter(time, "time")

    @property
    def batch_shape(self):
        return self.time.shape

    def _factors(self, eigenvalues):
        return -np.expm1(-eigenvalues * self.time[..., None])

    def _complement(self, eigenvalues):
        return np.exp(-eigenvalues * self.time[..., None])

    def _over_eigenvalue(self, eigenvalues):
        factors = self._factors(eigenvalues)
        safe = np.where(eigenvalues == 0.0, 1.0, eigenvalues)
        time = np.broadcast_to(self.time[..., None], factors.shape)
        return np.where(eigenvalues == 0.0, time, factors / safe)

    def __repr__(self):
        return f"flow(time={_format(self.time)})"


class _Ridge(Filter):
    def __init__(self, strength):
        self.strength = _parameter(strength, "strength", positive=True)

    @property
    def batch_shape(self):
        return self.strength.shape

    def _factors(self, eigenvalues):
        return eigenvalues / (eigenvalues + self.strength[..., None])

    def _complement(self, eigenvalues):
        strength = self.strength[..., None]
        return strength / (eigenvalues + strength)

    def _over_eigenvalue(self, eigenvalues):
        return 1.0 / (eigenvalues + self.strength[..., None])

    def __repr__(self):
        return f"ridge(strength={_format(self.strength)})"


class _Interpolate(Filter):
    def __init__(self, rcond=None):
        self.rcond = None if rcond is None else float(_parameter(rcond, "rcond"))

    def _mask(self, eigenvalues):
        rcond = eigenvalues.size * _EPS if self.rcond is None else self.rcond
        return eigenvalues > rcond * (eigenvalues.max() if eigenvalues.size else 0.0)

    def _factors(self, eigenvalues):
        return self._mask(eigenvalues).astype(np.float64)

    def _over_eigenvalue(self, eigenvalues):
        mask = self._mask(eigenvalues)
        return np.where(mask, 1.0 / np.where(mask, eigenvalues, 1.0), 0.0)

    def __repr__(self):
        return "interpolate()" if self.rcond is None else f"interpolate(rcond={self.rcond:g})"


class _Product(Filter):
    def __init__(self, factors):
        self.filters = tuple(factors)
        self.trains = any(f.trains for f in self.filters)

    @property
    def batch_shape(self):
        return np.broadcast_shapes(*(f.batch_shape for f in self.filters))

    def _factors(self, eigenvalues):
        result = self.filters[0]._factors(eigenvalues)
        for f in self.filters[1:]:
            result = result * f._factors(eigenvalues)
        return result

    def _complement(self, eigenvalues):
        # 1 − g₁G = (1 − g₁) + g₁(1 − G): a sum of non-negative terms when factors lie in [0, 1].
        head, *rest = self.filters
        if not rest:
            return head._complement(eigenvalues)
        tail = _Product(rest)
        return head._complement(eigenvalues) + head._factors(eigenvalues) * tail._complement(eigenvalues)

    def _over_eigenvalue(self, eigenvalues):
        trained = next((i for i, f in enumerate(self.filters) if f.trains), None)
        if trained is None:
            return super()._over_eigenvalue(eigenvalues)
        result = self.filters[trained]._over_eigenvalue(eigenvalues)
        for i, f in enumerate(self.filters):
            if i != trained:
                result = result * f._factors(eigenvalues)
        return result

    def __repr__(self):
        return " * ".join(repr(f) for f in self.filters)


class _Mix(Filter):
    trains = False

    def __init__(self, teacher_weight, teacher):
        weight = np.asarray(teacher_weight, dtype=np.float64)
        if weight.ndim != 0 or not np.isfinite(weight):
            raise ValueError(f"`teacher_weight` must be a finite real number, got {teacher_weight!r}.")
        if not isinstance(teacher, Filter):
            raise TypeError(f"`teacher` must be a theory filter, got {type(teacher).__name__}.")
        self.teacher_weight, self.teacher = float(weight), teacher

    @property
    def batch_shape(self):
        return self.teacher.batch_shape

    def _factors(self, eigenvalues):
        return (1.0 - self.teacher_weight) + self.teacher_weight * self.teacher._factors(eigenvalues)

    def _complement(self, eigenvalues):
        return self.teacher_weight * self.teacher._complement(eigenvalues)

    def __repr__(self):
        return f"mix(teacher_weight={self.teacher_weight:g}, teacher={self.teacher!r})"


class _LateSwitch(Filter):
    def __init__(self, learning_rate, steps, switch_step, teacher):
        if not isinstance(teacher, Filter) or not teacher.trains:
            raise TypeError("`teacher` must be a trained-model filter such as th.gd(...), got " f"{teacher!r}.")
        self.steps = _parameter(steps, "steps", integer=True)
        self.switch_step = float(_parameter(switch_step, "switch_step", integer=True))
        self.learning_rate = float(_parameter(learning_rate, "learning_rate", positive=True))
        self.teacher = teacher
        self._onehot = _GradientDescent(self.learning_rate, np.minimum(self.steps, self.switch_step))
        self._after = _GradientDescent(self.learning_rate, np.maximum(self.steps - self.switch_step, 0.0))

    @property
    def batch_shape(self):
        return np.broadcast_shapes(self.steps.shape, self.teacher.batch_shape)

    def _parts(self, eigenvalues):
        remaining = self._after._complement(eigenvalues)  # q = (1 − ηλ)^{t − s}
        return remaining, self._onehot, self.teacher

    def _factors(self, eigenvalues):
        # F_t = F_te + (I − ηK)^{t−s}(F_s − F_te)  ⇒  g = (1 − q) g_T + q g_s
        q, onehot, teacher = self._parts(eigenvalues)
        return (1.0 - q) * teacher._factors(eigenvalues) + q * onehot._factors(eigenvalues)

    def _complement(self, eigenvalues):
        q, onehot, teacher = self._parts(eigenvalues)
        return (1.0 - q) * teacher._complement(eigenvalues) + q * onehot._complement(eigenvalues)

    def _over_eigenvalue(self, eigenvalues):
        q, onehot, teacher = self._parts(eigenvalues)
        return (1.0 - q) * teacher._over_eigenvalue(eigenvalues) + q * onehot._over_eigenvalue(eigenvalues)

    def __repr__(self):
        return (
            f"late_switch(lr={self.learning_rate:g}, steps={_format(self.steps)}, "
            f"switch_step={_format(np.asarray(self.switch_step))}, teacher={self.teacher!r})"
        )


def gd(learning_rate: float, steps) -> Filter:
    """Full-batch gradient descent, step η, for t steps: ``g(λ) = 1 − (1 − ηλ)^t``.

    Summed squared loss (SCIENCE.md §2): F_{t+1} = F_t − η K (F_t − Y). Stable iff ηλ_max < 2, monotone in t iff
    ηλ_max ≤ 1; an unstable step is refused when the filter meets eigenvalues.

    Args:
        learning_rate: η > 0.
        steps: t ≥ 0, an integer or an integer array of any shape S (a trajectory).
    """
    return _GradientDescent(learning_rate, steps)


def flow(time) -> Filter:
    """Gradient flow for time t: ``g(λ) = 1 − e^{−λt}`` (the limit of ``gd(η, t/η)`` as η → 0).

    Args:
        time: t ≥ 0, a number or an array of any shape S.
    """
    return _GradientFlow(time)


def ridge(strength) -> Filter:
    """Kernel ridge regression with strength c: ``g(λ) = λ/(λ + c)``.

    Minimises ½‖F − Y‖² + (c/2)‖β‖², i.e. F = K (K + c I)⁻¹ Y (scikit-learn's ``KernelRidge(alpha=c)``).

    Args:
        strength: c > 0, a number or an array (a path of strengths).
    """
    return _Ridge(strength)


def interpolate(rcond: float | None = None) -> Filter:
    """Minimum-norm interpolation (t → ∞, c → 0): g = 1 on λ > rcond·λ_max, 0 on the null space.

    Args:
        rcond: relative threshold for the null space; default ``n·eps`` (numpy's ``matrix_rank``).
    """
    return _Interpolate(rcond)


def mix(teacher_weight: float, teacher: Filter) -> Filter:
    """Targets ``(1 − ξ) Y + ξ F_teacher`` as a factor: ``1 − ξ + ξ g_T(λ)`` (Das & Sanghavi 2023).

    ξ = 0 is one-hot (plain labels), ξ = 1 the teacher only; any real ξ is allowed (ξ > 1 extrapolates
    away from the labels). This is a target transform: compose it with the student's own filter,
    ``th.gd(η, t) * th.mix(ξ, teacher)``.
    """
    return _Mix(teacher_weight, teacher)


def late_switch(learning_rate: float, steps, switch_step: int, teacher: Filter) -> Filter:
    """Late distillation (our derivation, SCIENCE.md §3): one-hot GD for s steps, then GD on the teacher's outputs.

    With the same step η throughout, for t > s

        F_t = F_te + (I − ηK)^{t−s} (F_s − F_te)   ⇒   g(λ) = (1 − q) g_T(λ) + q g_GD(λ; s),  q = (1 − ηλ)^{t−s},

    and g = g_GD(λ; t) for t ≤ s.

    Args:
        learning_rate: η > 0 (both phases).
        steps: total steps t, integer or array (a trajectory).
        switch_step: s, the step at which the targets switch from the labels to the teacher's outputs.
        teacher: the teacher's filter (e.g. ``th.gd(η, T)``).
    """
    return _LateSwitch(learning_rate, steps, switch_step, teacher)


def compose(*filters: Filter) -> Filter:
    """The product ``filters[0] * filters[1] * …``: a student trained on the previous model's outputs.

    Nested products are flattened, so composition is associative by construction.
    """
    flat = []
    for f in filters:
        if not isinstance(f, Filter):
            raise TypeError(f"can only compose theory filters, got {type(f).__name__}.")
        flat.extend(f.filters if isinstance(f, _Product) else (f,))
    if not flat:
        raise ValueError("compose() needs at least one filter.")
    return flat[0] if len(flat) == 1 else _Product(flat)
