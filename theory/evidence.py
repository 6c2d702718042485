"""Evidence as data: a :class:`Claim` holds measured numbers and its criterion, and derives its own verdict.

A figure (or the sweep) never writes "reproduced" by hand: it states what was measured — an :class:`Estimate`
(a measured number, optionally with a confidence interval) or an :class:`Exact` value (a closed form with its
numerical tolerance) — and the :class:`Criterion` it is held to (the null value and the claim's side). One rule,
:func:`judge`, turns a measurement and its criterion into a verdict (docs/maths.md §7):

* every measurement is read as an interval ``[low, high]``: an estimate without an interval as the point
  ``[value, value]``, an estimate with one as its interval, an exact value as ``[value − tol, value + tol]``;
* **reproduced** if the interval excludes the null on the claim's side (all of it above the null for
  ``side="greater"``, below for ``"less"``; ``inclusive=True`` makes the claim ``≥``/``≤``);
* **not reproduced** if the interval excludes the claim (all of it on or beyond the null on the other side);
* **inconclusive** otherwise (the interval straddles the null);
* **not run** if the value (or a bound) is missing or NaN, e.g. the minimum or the share of an empty group.

Without intervals this is today's point rule (value > null, …). A claim that needs several conditions at once
(``slope > 1`` and ``low-confidence fraction > 0.5``) holds a tuple of measurements and a tuple of criteria, one
each; its verdict (:func:`combine`) is "not run" if any part was not run, else "not reproduced" if any part was
not reproduced, else "inconclusive" if any part was, else "reproduced".

:meth:`Claim.to_dict` is the JSON row of the claims report: ``claim``, ``setting``, ``statement``, ``measured``,
``criterion`` (human text), ``verdict``, and ``evidence`` — a list with one entry per part, each holding
``kind`` ("estimate" or "exact"), ``value``, ``interval`` (``[low, high]`` or None), ``tolerance`` (None for an
estimate), ``null``, ``side``, ``inclusive`` and the part's ``verdict`` (NaN written as None).

Example:
  >>> claim = Claim(claim="C1", setting="digits, τ=4", statement="the student exaggerates (slope > 1)",
  ...               evidence=Estimate(1.08), criterion=greater_than(1.0), measured="slope 1.080")
  >>> claim.verdict
  'reproduced'
  >>> judge(Estimate(1.08, low=0.97, high=1.19), greater_than(1.0))
  'inconclusive'
  >>> judge(Estimate.share(np.array([], dtype=bool)), at_least(0.8))
  'not run'
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ._checks import as_array, check_choice, check_flag, check_nonnegative, check_real

__all__ = ["VERDICTS", "SIDES", "Criterion", "greater_than", "less_than", "at_least", "at_most", "Estimate",
           "Exact", "judge", "combine", "aggregate", "Claim", "paper_claim"]

#: every verdict a claim can have.
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not run")
#: the claim's side of the null.
SIDES = ("greater", "less")


def _measurement(value, name: str) -> float:
    """A real number as a float; ``None`` (nothing measured) becomes NaN, which :func:`judge` reads as not run."""
    if value is None:
        return math.nan
    return float(as_array(value, name, ndim=0, finite=False))


def _show(value: float) -> str:
    return f"{value:g}"


# --------------------------------------------------------------------------------------------------- criteria
@dataclass(frozen=True)
class Criterion:
    """What a measurement must show: it lies on ``side`` of ``null`` (strictly unless ``inclusive``).

    Example:
      >>> Criterion(null=1.0, side="greater"), str(at_least(0.8))
      (Criterion(null=1.0, side='greater', inclusive=False), '≥ 0.8')
    """

    null: float
    side: str = "greater"
    inclusive: bool = False

    def __post_init__(self):
        object.__setattr__(self, "null", check_real(self.null, "null"))
        check_choice(self.side, "side", SIDES)
        object.__setattr__(self, "inclusive", check_flag(self.inclusive, "inclusive"))

    def __str__(self) -> str:
        symbol = {("greater", False): ">", ("greater", True): "≥", ("less", False): "<", ("less", True): "≤"}
        return f"{symbol[self.side, self.inclusive]} {_show(self.null)}"


def greater_than(null: float) -> Criterion:
    """The claim ``value > null``."""
    return Criterion(null, "greater")


def less_than(null: float) -> Criterion:
    """The claim ``value < null``."""
    return Criterion(null, "less")


def at_least(null: float) -> Criterion:
    """The claim ``value ≥ null`` (e.g. a share of matched points: ``at_least(0.8)``)."""
    return Criterion(null, "greater", inclusive=True)


def at_most(null: float) -> Criterion:
    """The claim ``value ≤ null``."""
    return Criterion(null, "less", inclusive=True)


# --------------------------------------------------------------------------------------------------- evidence
@dataclass(frozen=True)
class Estimate:
    """A measured number, optionally with a confidence interval ``[low, high]`` (both or neither).

    ``value=None`` or NaN means nothing was measured (the verdict is "not run").
    """

    value: float
    low: float | None = None
    high: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "value", _measurement(self.value, "value"))
        if (self.low is None) != (self.high is None):
            raise ValueError(f"low and high must both be given or both be None, got low={self.low!r}, "
                             f"high={self.high!r}.")
        if self.low is not None:
            low, high = _measurement(self.low, "low"), _measurement(self.high, "high")
            if low > high:
                raise ValueError(f"low must be <= high (an interval), got [{low!r}, {high!r}].")
            object.__setattr__(self, "low", low)
            object.__setattr__(self, "high", high)

    @property
    def interval(self) -> tuple | None:
        """``(low, high)``, or None for a point estimate."""
        return None if self.low is None else (self.low, self.high)

    def show(self, digits: int = 3, sign: str = "", *, form: str | None = None) -> str:
        """The estimate as text: ``"1.023 [0.998, 1.047]"``; without an interval just the value; NaN: ``"–"``.

        ``sign="+"`` writes signs (a gain ``"+0.012 [-0.003, +0.027]"``); ``form`` (a format spec such as
        ``".3g"``) replaces ``f"{sign}.{digits}f"``.

        Example:
          >>> Estimate(1.0234, low=0.998, high=1.047).show(), Estimate(0.01, -0.002, 0.02).show(2, "+")
          ('1.023 [0.998, 1.047]', '+0.01 [-0.00, +0.02]')
        """
        if self.value != self.value:
            return "–"
        form = f"{sign}.{digits}f" if form is None else form
        text = f"{self.value:{form}}"
        if self.interval is None or not (math.isfinite(self.low) and math.isfinite(self.high)):
            return text
        return f"{text} [{self.low:{form}}, {self.high:{form}}]"

    def bounds(self) -> tuple:
        """The interval the verdict rule reads: ``(low, high)``, or ``(value, value)`` without an interval."""
        return (self.value, self.value) if self.low is None else (self.low, self.high)

    @classmethod
    def _summary(cls, values, reduce) -> Estimate:
        """``reduce`` (np.min, np.max, np.mean) of ``values`` as a point estimate; NaN for an empty group."""
        values = as_array(values, "values", finite=False).ravel()
        return cls(float(reduce(values)) if values.size else math.nan)

    @classmethod
    def minimum(cls, values) -> Estimate:
        """The smallest of ``values`` (e.g. "every deficit > 0" as "minimum > 0"); NaN for an empty group."""
        return cls._summary(values, np.min)

    @classmethod
    def maximum(cls, values) -> Estimate:
        """The largest of ``values`` (e.g. "every gap < 0" as "maximum < 0"); NaN for an empty group."""
        return cls._summary(values, np.max)

    @classmethod
    def mean(cls, values) -> Estimate:
        """The mean of ``values``; NaN for an empty group."""
        return cls._summary(values, np.mean)

    @classmethod
    def share(cls, mask) -> Estimate:
        """The fraction of True entries of a boolean ``mask`` ("k of n points have deficit > 0"); NaN if empty.

        Example:
          >>> judge(Estimate.share([True, True, True, True, False]), at_least(0.8))
          'reproduced'
        """
        mask = as_array(mask, "mask", dtype=None).ravel()
        if mask.dtype != bool:
            raise ValueError(f"mask must be a boolean array, got dtype {mask.dtype}.")
        return cls(float(np.mean(mask)) if mask.size else math.nan)


@dataclass(frozen=True)
class Exact:
    """A closed-form value, exact up to ``tolerance`` (e.g. float64 round-off): read as ``[value ± tolerance]``."""

    value: float
    tolerance: float

    def __post_init__(self):
        object.__setattr__(self, "value", _measurement(self.value, "value"))
        object.__setattr__(self, "tolerance", check_nonnegative(self.tolerance, "tolerance"))

    @property
    def interval(self) -> None:
        return None

    def bounds(self) -> tuple:
        """``(value − tolerance, value + tolerance)``."""
        return (self.value - self.tolerance, self.value + self.tolerance)


# --------------------------------------------------------------------------------------------------- the rule
def judge(evidence: Estimate | Exact, criterion: Criterion) -> str:
    """The verdict of one measurement against its criterion: the one rule of the module docstring.

    Example:
      >>> judge(Estimate(0.97), greater_than(1.0)), judge(Exact(1e-13, tolerance=1e-12), greater_than(0.0))
      ('not reproduced', 'inconclusive')
    """
    if not isinstance(evidence, (Estimate, Exact)):
        raise ValueError(f"evidence must be an Estimate or an Exact, got {type(evidence).__name__}.")
    if not isinstance(criterion, Criterion):
        raise ValueError(f"criterion must be a Criterion, got {type(criterion).__name__}.")
    low, high = evidence.bounds()
    if math.isnan(evidence.value) or math.isnan(low) or math.isnan(high):
        return "not run"
    null = criterion.null
    if criterion.side == "less":  # mirror, so that the claim is always "above the null"
        low, high, null = -high, -low, -null
    holds = low >= null if criterion.inclusive else low > null
    fails = high < null if criterion.inclusive else high <= null
    return "reproduced" if holds else "not reproduced" if fails else "inconclusive"


def combine(verdicts) -> str:
    """The verdict of a claim whose parts all must hold (see the module docstring)."""
    verdicts = [check_choice(v, "verdict", VERDICTS) for v in verdicts]
    if not verdicts:
        return "not run"
    for verdict in ("not run", "not reproduced", "inconclusive"):
        if verdict in verdicts:
            return verdict
    return "reproduced"


def aggregate(verdicts) -> str:
    """One verdict from several settings' verdicts of the same claim (the claims report's cells).

    "reproduced" when every setting that ran reproduced it, "not reproduced" / "inconclusive" when every one
    was, "partly reproduced (k/n settings)" when some but not all reproduced it, "not reproduced (k/n
    settings, the rest inconclusive)" when none did and some were inconclusive, and "not run" when none ran.
    A verdict never goes beyond its rows.

    Example:
      >>> aggregate(["reproduced", "not reproduced", "not run"])
      'partly reproduced (1/2 settings)'
    """
    verdicts = list(verdicts)
    unknown = [v for v in verdicts if v not in VERDICTS]
    if unknown:
        raise ValueError(f"unknown verdicts {unknown}; verdicts must be among {VERDICTS}.")
    run = [v for v in verdicts if v != "not run"]
    if not run:
        return "not run"
    counts = {v: run.count(v) for v in VERDICTS}
    for verdict in ("reproduced", "not reproduced", "inconclusive"):
        if counts[verdict] == len(run):
            return verdict
    if counts["reproduced"]:
        return f"partly reproduced ({counts['reproduced']}/{len(run)} settings)"
    return f"not reproduced ({counts['not reproduced']}/{len(run)} settings, the rest inconclusive)"


def paper_claim(label: str) -> str | None:
    """The paper's claim (docs/maths.md §1) a claim label counts towards: ``"C3 (network)"`` → ``"C3"``.

    Labels that do not start with C1 … C5 (checks of a closed form against simulation, …) give None.
    """
    match = re.match(r"\s*(C[1-5])\b", str(label))
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------------- claims
@dataclass(frozen=True)
class Claim:
    """One claim in one setting, with the measured evidence and the criterion; the verdict is derived.

    Attributes:
      claim: the label, starting with the paper's claim ("C1" … "C5", e.g. ``"C1 test τ=4"``) or naming a
        consistency check (``"closed form"``).
      setting: where it was measured (data, model, budgets, seeds).
      statement: what the claim says, in words.
      evidence: an :class:`Estimate` or :class:`Exact`, or a tuple of them (all must hold).
      criterion: a :class:`Criterion`, or a tuple with one per evidence.
      measured: the numbers in words for the report (default: the values of the evidence).
      criterion_text: the criterion in words for the report (default: the criteria, e.g. "> 1 and ≥ 0.8").
    """

    claim: str
    setting: str
    statement: str
    evidence: Estimate | Exact | tuple
    criterion: Criterion | tuple
    measured: str | None = None
    criterion_text: str | None = None

    def __post_init__(self):
        for name in ("claim", "setting", "statement"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {type(getattr(self, name)).__name__}.")
        evidence = self.evidence if isinstance(self.evidence, tuple) else (self.evidence,)
        criteria = self.criterion if isinstance(self.criterion, tuple) else (self.criterion,)
        if not evidence or len(evidence) != len(criteria):
            raise ValueError(f"criterion must give one Criterion per evidence, got {len(criteria)} for "
                             f"{len(evidence)} evidence.")
        for part, criterion in zip(evidence, criteria):
            judge(part, criterion)  # type checks
        if self.measured is None:
            object.__setattr__(self, "measured", ", ".join(_show(e.value) for e in evidence))
        if self.criterion_text is None:
            object.__setattr__(self, "criterion_text", " and ".join(map(str, criteria)))

    @property
    def parts(self) -> tuple:
        """``((evidence, criterion), …)``, one pair per condition."""
        evidence = self.evidence if isinstance(self.evidence, tuple) else (self.evidence,)
        criteria = self.criterion if isinstance(self.criterion, tuple) else (self.criterion,)
        return tuple(zip(evidence, criteria))

    @property
    def verdict(self) -> str:
        """The verdict derived from the evidence (:func:`judge` per part, :func:`combine` over parts)."""
        return combine(judge(evidence, criterion) for evidence, criterion in self.parts)

    @property
    def paper_claim(self) -> str | None:
        """"C1" … "C5", or None for a consistency check."""
        return paper_claim(self.claim)

    def to_dict(self) -> dict:
        """The claims report's JSON row (see the module docstring); NaN becomes None."""

        def number(value):
            return None if value is None or math.isnan(value) else float(value)

        evidence = []
        for part, criterion in self.parts:
            interval = part.interval
            evidence.append(dict(
                kind="exact" if isinstance(part, Exact) else "estimate", value=number(part.value),
                interval=None if interval is None else [number(interval[0]), number(interval[1])],
                tolerance=part.tolerance if isinstance(part, Exact) else None, null=criterion.null,
                side=criterion.side, inclusive=criterion.inclusive, verdict=judge(part, criterion)))
        return dict(claim=self.claim, setting=self.setting, statement=self.statement, measured=self.measured,
                    criterion=self.criterion_text, verdict=self.verdict, evidence=evidence)

    @classmethod
    def from_dict(cls, row: dict) -> Claim:
        """The claim of a row written by :meth:`to_dict` (its verdict is derived again, not read)."""
        evidence, criteria = [], []
        for part in row["evidence"]:
            value = math.nan if part["value"] is None else part["value"]
            if part["kind"] == "exact":
                evidence.append(Exact(value, part["tolerance"]))
            else:
                interval = part["interval"]
                if interval is not None:  # a NaN bound was written as None
                    interval = [math.nan if bound is None else bound for bound in interval]
                evidence.append(Estimate(value, *(interval or (None, None))))
            criteria.append(Criterion(part["null"], part["side"], part["inclusive"]))
        return cls(claim=row["claim"], setting=row["setting"], statement=row["statement"],
                   evidence=tuple(evidence), criterion=tuple(criteria), measured=row["measured"],
                   criterion_text=row["criterion"])
