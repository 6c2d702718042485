"""Spectral filters: what a training procedure does to each eigendirection of the kernel.

A training procedure on a linear / kernel model with squared loss, started from outputs F₀, ends at
(docs/maths.md §3)

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
    gd(learning_rate=0.1, steps=100) * gd(learning_rate=0.1, steps=100)
    >>> bool(np.allclose(student(np.array([1.0, 0.01])), teacher(np.array([1.0, 0.01])) ** 2))
    True
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._checks import as_array, check_nonnegative, check_positive, check_real

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
    eigenvalues = as_array(getattr(eigenvalues, "eigenvalues", eigenvalues), "eigenvalues", ndim=1)
    if np.any(eigenvalues < 0):
        raise ValueError(
            f"eigenvalues must be >= 0 (a PSD kernel), got minimum {eigenvalues.min():.3g}; build them "
            "with theory.Spectrum, which clips round-off negatives."
        )
    return eigenvalues


def _parameter(value, name: str, *, integer: bool = False, positive: bool = False) -> np.ndarray:
    """Validate a (possibly array-valued) filter parameter; returns a float64 array of shape S."""
    array = as_array(value, name)
    if positive and np.any(array <= 0):
        raise ValueError(f"{name} must be > 0, got minimum {array.min():.4g}.")
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0 (no negative training time), got minimum {array.min():.4g}.")
    if integer and np.any(array != np.round(array)):
        raise ValueError(f"{name} must be whole numbers of steps, got {value!r}.")
    return array


def _set(instance, name: str, value) -> None:
    """Store a validated field on a frozen dataclass (in ``__post_init__``)."""
    object.__setattr__(instance, name, value)


def _literal(value) -> str:
    """A Python literal that evaluates back to ``value`` (a float, an int, a range, a nested list or a filter).

    Whole numbers print as integers; a 1-D arithmetic progression of whole numbers prints as ``range(...)``;
    other floats use ``repr`` (the shortest string that round-trips exactly).
    """
    if isinstance(value, Filter):
        return repr(value)
    array = np.asarray(value, dtype=np.float64)
    whole = bool(np.all(array == np.round(array))) and bool(np.all(np.abs(array) < 2**53))
    if array.ndim == 0:
        return str(int(array)) if whole else repr(float(array))
    if array.ndim == 1 and whole and array.size >= 3:
        step = array[1] - array[0]
        if step > 0 and np.all(np.diff(array) == step):
            return f"range({int(array[0])}, {int(array[-1] + step)}, {int(step)})"
    return "[" + ", ".join(_literal(item) for item in array) + "]"


def _key(value):
    """A hashable, exact key for a field value (arrays by shape and bytes)."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.tobytes())
    if isinstance(value, tuple):
        return tuple(_key(item) for item in value)
    return value


def _log_ratio_scale(fraction):
    """ψ(g) = −log(1 − g)/g, with ψ(0) = 1 (used for effective times where progress is small)."""
    safe = np.where(fraction == 0.0, 0.5, fraction)  # placeholder keeps log1p away from −1
    return np.where(fraction == 0.0, 1.0, -np.log1p(-safe) / safe)


class Filter:
    """A spectral filter g(λ): call it on eigenvalues ``(n,)`` to get factors ``S + (n,)``.

    Subclasses implement ``_factors``, ``_complement`` (1 − g, computed without cancellation) and, for
    filters that describe a trained model (g(0) = 0), ``_over_eigenvalue`` (g(λ)/λ, finite at λ = 0).
    """

    #: the factory that builds this filter (and that its repr calls).
    _FACTORY = ""

    @property
    def trains(self) -> bool:
        """True when the filter describes a model trained from its initialisation (g(0) = 0), so that test
        predictions exist; False for target transforms such as :func:`mix`."""
        return True

    # value semantics: equal filters have equal parameters; hashable; a repr that evaluates back ----------
    def _fields(self) -> tuple:
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _key(tuple(v for _, v in self._fields())) == _key(tuple(v for _, v in other._fields()))

    def __hash__(self) -> int:
        return hash((type(self).__name__, _key(tuple(v for _, v in self._fields()))))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={_literal(value)}" for name, value in self._fields()
                              if not (name == "rcond" and value is None))
        return f"{self._FACTORY}({arguments})"

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
        """Effective training time τ(λ) = −ln(1 − g(λ)) / λ (docs/maths.md §3).

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


@dataclass(frozen=True, eq=False, repr=False)
class _GradientDescent(Filter):
    _FACTORY = "gd"
    learning_rate: float
    steps: np.ndarray

    def __post_init__(self):
        _set(self, "learning_rate", float(check_positive(self.learning_rate, "learning_rate")))
        _set(self, "steps", _parameter(self.steps, "steps", integer=True))

    @property
    def batch_shape(self):
        return self.steps.shape

    def _scaled(self, eigenvalues):
        scaled = self.learning_rate * eigenvalues
        if scaled.size and scaled.max() >= 2.0:
            raise ValueError(
                f"learning_rate must be < 2 / lambda_max = {2.0 / eigenvalues.max():.4g} (<= "
                f"{1.0 / eigenvalues.max():.4g} for monotone progress), got {self.learning_rate:g}: gradient "
                f"descent is unstable at learning_rate * lambda_max = {scaled.max():.4g} >= 2."
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


@dataclass(frozen=True, eq=False, repr=False)
class _GradientFlow(Filter):
    _FACTORY = "flow"
    time: np.ndarray

    def __post_init__(self):
        _set(self, "time", _parameter(self.time, "time"))

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


@dataclass(frozen=True, eq=False, repr=False)
class _Ridge(Filter):
    _FACTORY = "ridge"
    strength: np.ndarray

    def __post_init__(self):
        _set(self, "strength", _parameter(self.strength, "strength", positive=True))

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


@dataclass(frozen=True, eq=False, repr=False)
class _Interpolate(Filter):
    _FACTORY = "interpolate"
    rcond: float | None = None

    def __post_init__(self):
        if self.rcond is not None:
            _set(self, "rcond", check_nonnegative(self.rcond, "rcond"))

    def _mask(self, eigenvalues):
        rcond = eigenvalues.size * _EPS if self.rcond is None else self.rcond
        return eigenvalues > rcond * (eigenvalues.max() if eigenvalues.size else 0.0)

    def _factors(self, eigenvalues):
        return self._mask(eigenvalues).astype(np.float64)

    def _over_eigenvalue(self, eigenvalues):
        mask = self._mask(eigenvalues)
        return np.where(mask, 1.0 / np.where(mask, eigenvalues, 1.0), 0.0)


@dataclass(frozen=True, eq=False, repr=False)
class _Product(Filter):
    filters: tuple

    def __post_init__(self):
        _set(self, "filters", tuple(self.filters))

    @property
    def trains(self) -> bool:
        return any(f.trains for f in self.filters)

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
        tail = _Product(tuple(rest))
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


@dataclass(frozen=True, eq=False, repr=False)
class _Mix(Filter):
    _FACTORY = "mix"
    teacher_weight: float
    teacher: Filter

    def __post_init__(self):
        _set(self, "teacher_weight", check_real(self.teacher_weight, "teacher_weight"))
        if not isinstance(self.teacher, Filter):
            raise TypeError(f"teacher must be a theory filter, got {type(self.teacher).__name__}.")

    @property
    def trains(self) -> bool:
        return False

    @property
    def batch_shape(self):
        return self.teacher.batch_shape

    def _factors(self, eigenvalues):
        return (1.0 - self.teacher_weight) + self.teacher_weight * self.teacher._factors(eigenvalues)

    def _complement(self, eigenvalues):
        return self.teacher_weight * self.teacher._complement(eigenvalues)


@dataclass(frozen=True, eq=False, repr=False)
class _LateSwitch(Filter):
    _FACTORY = "late_switch"
    learning_rate: float
    steps: np.ndarray
    switch_step: int
    teacher: Filter

    def __post_init__(self):
        if not isinstance(self.teacher, Filter) or not self.teacher.trains:
            raise TypeError(f"teacher must be a trained-model filter such as th.gd(...), got {self.teacher!r}.")
        _set(self, "steps", _parameter(self.steps, "steps", integer=True))
        _set(self, "switch_step", int(_parameter(self.switch_step, "switch_step", integer=True)))
        _set(self, "learning_rate", float(check_positive(self.learning_rate, "learning_rate")))

    @property
    def batch_shape(self):
        return np.broadcast_shapes(self.steps.shape, self.teacher.batch_shape)

    def _parts(self, eigenvalues):
        onehot = _GradientDescent(self.learning_rate, np.minimum(self.steps, self.switch_step))
        after = _GradientDescent(self.learning_rate, np.maximum(self.steps - self.switch_step, 0.0))
        remaining = after._complement(eigenvalues)  # q = (1 − ηλ)^{t − s}
        return remaining, onehot, self.teacher

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


def gd(learning_rate: float, steps) -> Filter:
    """Full-batch gradient descent, step η, for t steps: ``g(λ) = 1 − (1 − ηλ)^t``.

    Summed squared loss (docs/maths.md §2): F_{t+1} = F_t − η K (F_t − Y). Stable iff ηλ_max < 2, monotone in t iff
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
    """Late distillation (our derivation, docs/maths.md §3): one-hot GD for s steps, then GD on the teacher's outputs.

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
    return flat[0] if len(flat) == 1 else _Product(tuple(flat))
