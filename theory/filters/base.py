"""The :class:`Filter` value and the algebra of filters: products (distillation) and :func:`compose`.

A filter is a frozen dataclass: equal parameters give equal, hashable filters, and its repr evaluates back
(``gd(learning_rate=0.1, steps=range(0, 100, 10))``). Every filter computes g(λ), 1 − g(λ) without
cancellation and, when it describes a trained model, g(λ)/λ finite at λ = 0 (docs/maths.md §3).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._common import as_eigenvalues, literal, log_ratio_scale, set_field, value_key

__all__ = ["Filter", "Product", "compose"]


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
        return value_key(tuple(v for _, v in self._fields())) == value_key(tuple(v for _, v in other._fields()))

    def __hash__(self) -> int:
        return hash((type(self).__name__, value_key(tuple(v for _, v in self._fields()))))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={literal(value)}" for name, value in self._fields()
                              if not (name == "rcond" and value is None))
        return f"{self._FACTORY}({arguments})"

    @property
    def batch_shape(self) -> tuple:
        """Shape S of the filter's parameters (the trajectory axes of its factors)."""
        return ()

    def __call__(self, eigenvalues) -> np.ndarray:
        """Factors g(λ), shape ``S + (n,)``."""
        return self._factors(as_eigenvalues(eigenvalues))

    def over_eigenvalue(self, eigenvalues) -> np.ndarray:
        """g(λ)/λ, shape ``S + (n,)``, finite at λ = 0 (its limit), never formed by dividing by λ."""
        return self._over_eigenvalue(as_eigenvalues(eigenvalues))

    def complement(self, eigenvalues) -> np.ndarray:
        """1 − g(λ), shape ``S + (n,)``, accurate where g → 1 (no cancellation)."""
        return self._complement(as_eigenvalues(eigenvalues))

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
        eigenvalues = as_eigenvalues(eigenvalues)
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
            rate_over_eigenvalue = float(learning_rate) * np.where(defined, log_ratio_scale(scaled), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            small = over * log_ratio_scale(np.clip(factors, 0.0, 0.5)) / rate_over_eigenvalue
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
class Product(Filter):
    filters: tuple

    def __post_init__(self):
        set_field(self, "filters", tuple(self.filters))

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
        tail = Product(tuple(rest))
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


def compose(*filters: Filter) -> Filter:
    """The product ``filters[0] * filters[1] * …``: a student trained on the previous model's outputs.

    Nested products are flattened, so composition is associative by construction.
    """
    flat = []
    for f in filters:
        if not isinstance(f, Filter):
            raise TypeError(f"can only compose theory filters, got {type(f).__name__}.")
        flat.extend(f.filters if isinstance(f, Product) else (f,))
    if not flat:
        raise ValueError("compose() needs at least one filter.")
    return flat[0] if len(flat) == 1 else Product(tuple(flat))
