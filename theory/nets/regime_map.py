"""What decides whether a network's τ = 1 slope exceeds 1? The analysis of a regime-map sweep (docs/regimes.md).

A regime sweep (``python -m theory.nets.sweep --grid regimes``, :data:`theory.nets.grids.REGIMES`) stores, per
setting, the seed means of the C1 test slope with its per-seed bootstrap replicates, and the regime variables
(:func:`theory.nets.analysis.regime`). :func:`setting_table` turns its rows into one record per setting (slope
with its 95 % interval and replicates, the axis the setting varies, the variables); :func:`association` measures
how one variable goes with the slope *across settings*:

* Spearman's rank correlation ρ(x, slope) and the R² of the one-variable least-squares line, each with a 95 %
  percentile interval from a bootstrap over settings (settings resampled with replacement; with ``y_draws``
  each picked setting's slope is also replaced by one of its own bootstrap replicates, so the within-setting
  uncertainty of the slope enters too);
* :func:`threshold`: the single cut on x that best separates the settings whose slope exceeds 1 from the others
  (balanced accuracy), i.e. "does slope > 1 occur only above some saturation?".

:func:`answer` applies both to every variable at one temperature and names the teacher-side ("upstream")
variable that explains the most variance. The identity slope = r · σ_S/σ_T makes the correlation r and the
spread ratio σ_S/σ_T jointly explain the slope exactly; they are reported, but the question is about what sets
them: the teacher's saturation and entropy on the student's training inputs, its accuracies, and the pair's KL.

Example:
  >>> rng = np.random.default_rng(0)
  >>> x = rng.uniform(size=40)
  >>> result = association(x, 0.9 + 0.2 * x + 0.01 * rng.normal(size=40), replicates=500)
  >>> result["spearman"]["low"] > 0.8
  True
"""
from __future__ import annotations

import re

import numpy as np
from scipy import stats

from .._checks import as_array, as_rng, check_integer, check_real
from ..metrics.bootstrap import LEVEL, REPLICATES, correlations, percentile_interval
from . import analysis

__all__ = ["MIN_SETTINGS", "VARIABLES", "UPSTREAM", "IDENTITY", "AXES", "axis_of", "setting_table", "association", "threshold",
           "answer"]

#: fewer settings than this give point values without intervals (a bootstrap over 3 settings is degenerate).
MIN_SETTINGS = 6

#: the regime variables read from a sweep row (key -> label); all measured by the sweep's ``measure``.
VARIABLES = {
    "train_saturation": "teacher saturation (train inputs)",
    "train_teacher_entropy": "teacher entropy (train inputs, nats)",
    "teacher_train_accuracy": "teacher train accuracy",
    "teacher_test_accuracy": "teacher test accuracy",
    "test_kl": "KL(teacher ‖ student), test",
    "test_agreement": "agreement, test",
    "control_test_slope": "one-hot control's slope (test)",
    "test_correlation": "r (test)",
    "test_spread_ratio": "σS/σT (test)",
}
#: the candidates: the teacher's side (set before the student trains), the pair's KL / agreement, and the slope of
#: an independent one-hot network against the teacher (the regression-dilution baseline, no distillation).
UPSTREAM = ("train_saturation", "train_teacher_entropy", "teacher_train_accuracy", "teacher_test_accuracy",
            "test_kl", "test_agreement", "control_test_slope")
#: slope = r · σS/σT: these two explain the slope jointly by construction.
IDENTITY = ("test_correlation", "test_spread_ratio")

#: the axes of the regime grid, in plotting order.
AXES = ("base", "augmentation", "teacher label smoothing", "teacher budget", "student budget", "weight decay",
        "label noise", "combined")


def axis_of(setting: dict, base: dict | None = None) -> str:
    """The axis a setting of the regime grid varies (from its fields, not its name): one of :data:`AXES`.

    ``base``: the base setting's budgets ``{"teacher_epochs", "student_epochs"}`` (default 60 and 60, the
    regime grid's); a budget that differs from it is that axis.

    Example:
      >>> axis_of(dict(teacher_label_smoothing=0.1)), axis_of(dict(shift=2)), axis_of({})
      ('teacher label smoothing', 'augmentation', 'base')
    """
    base = dict(dict(teacher_epochs=60, student_epochs=60), **(base or {}))
    changed = []
    if setting.get("shift") or setting.get("noise_std") or setting.get("crop_padding") or setting.get("flip"):
        changed.append("augmentation")
    if setting.get("teacher_label_smoothing"):
        changed.append("teacher label smoothing")
    if setting.get("teacher_epochs", base["teacher_epochs"]) != base["teacher_epochs"]:
        changed.append("teacher budget")
    if setting.get("student_epochs", base["student_epochs"]) != base["student_epochs"]:
        changed.append("student budget")
    if setting.get("student_weight_decay") or setting.get("weight_decay"):
        changed.append("weight decay")
    if setting.get("label_noise"):
        changed.append("label noise")
    if not changed:
        return "base"
    return changed[0] if len(changed) == 1 else "combined"


def _modal(values, default):
    values = [v for v in values if v is not None]
    if not values:
        return default
    kinds, counts = np.unique(values, return_counts=True)
    return kinds[np.argmax(counts)].item()


def _family(row: dict) -> str:
    """The setting without its temperature (pairs τ = 1, 2, 4 of one setting): its name minus ", τ=…"."""
    return re.sub(r",?\s*τ=[0-9.]+$", "", row.get("name", "")).strip() or "setting"


def _base(row: dict, setting: dict) -> str:
    """The data × architecture a setting belongs to: its name up to the first comma (the regime grid names its
    settings ``"<base>, <variant>, τ=…"``, e.g. ``"mnist1d-hard mlp"``), else its dataset and model."""
    name = row.get("name", "")
    return name.split(",")[0].strip() if "," in name else f"{setting.get('dataset', '?')} {setting.get('model', '?')}"


def setting_table(rows, base: dict | None = None) -> list[dict]:
    """One record per completed sweep row (rows without a test slope — failed — are left out).

    Record: ``name``, ``family`` (the name without τ), ``base`` (data × architecture, e.g. ``"mnist1d-hard mlp"``),
    ``temperature``, ``axis`` (:func:`axis_of`), ``data``
    (dataset and model), ``seeds``, ``slope`` / ``low`` / ``high`` (the test slope with its 95 % interval,
    hierarchical over seeds from 5 seeds, over points below; None without replicates), ``draws`` (its bootstrap
    replicates, a list, or None) and every :data:`VARIABLES` key (seed means; None where not measured).
    ``base``: the base budgets for :func:`axis_of` (default: the most common teacher and student epochs).
    """
    settings = [row.get("setting") or {} for row in rows if isinstance(row, dict)]
    if base is None:
        base = {key: _modal([s.get(key) for s in settings], 60) for key in ("teacher_epochs", "student_epochs")}
    table = []
    for row in rows:
        if not isinstance(row, dict) or row.get("test_slope") is None:
            continue
        setting = row.get("setting") or {}
        stored = [entry.get("bootstrap") for entry in row.get("per_seed", ()) if isinstance(entry, dict)]
        boot = analysis.seed_bootstrap(stored, ("test_slope",), seed=0)
        record = dict(name=row.get("name", "setting"), family=_family(row), base=_base(row, setting),
                      temperature=float(setting.get("temperature", 1.0)), axis=axis_of(setting, base),
                      data=f"{setting.get('dataset', '?')} {setting.get('model', '?')}",
                      seeds=len(row.get("per_seed", ())) or len(row.get("seeds", ())),
                      slope=float(row["test_slope"]), low=None, high=None, draws=None, scheme=None)
        if boot is not None and np.isfinite(boot[0].value[0]):
            estimate = boot[0].estimate(0)
            record.update(slope=estimate.value, low=estimate.low, high=estimate.high,
                          draws=boot[0].replicates[:, 0].tolist(), scheme=boot[0].note)
        for key in VARIABLES:
            value = row.get(key)
            record[key] = float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None
        table.append(record)
    return table


def _interval(value: float, draws: np.ndarray, level: float) -> dict:
    """:func:`~theory.metrics.bootstrap.percentile_interval` as the JSON dict ``value, low, high`` (None for NaN)."""
    estimate = percentile_interval(value, draws, level)
    show = lambda v: float(v) if v is not None and np.isfinite(v) else None  # noqa: E731
    return dict(value=show(estimate.value), low=show(estimate.low), high=show(estimate.high))


def threshold(x, above) -> dict:
    """The single cut on ``x`` that best separates the settings with ``above`` True from the others.

    Tries every cut between consecutive distinct values, both directions ("above when x > t" and "x < t"), and
    keeps the best balanced accuracy ½ (TPR + TNR). ``separates``: the cut classifies every setting right.
    None values (NaN) of x are left out. With no setting (or every setting) above, nothing to separate: the
    cut and the balanced accuracy are None.

    Example:
      >>> threshold([0.1, 0.2, 0.8, 0.9], [False, False, True, True])["separates"]
      True
    """
    x = as_array(np.asarray(x, dtype=float), "x", ndim=1, finite=False)
    above = np.asarray(above, dtype=bool)
    keep = np.isfinite(x)
    x, above = x[keep], above[keep]
    result = dict(n=int(x.size), n_above=int(above.sum()), cut=None, direction=None, balanced_accuracy=None,
                  separates=False, above_min=float(x[above].min()) if above.any() else None,
                  below_max=float(x[~above].max()) if (~above).any() else None)
    if not above.any() or above.all():
        return result
    values = np.unique(x)
    cuts = (values[:-1] + values[1:]) / 2
    best = (-1.0, None, None)
    for cut in cuts:
        for direction, predicted in ((">", x > cut), ("<", x < cut)):
            score = 0.5 * (np.mean(predicted[above]) + np.mean(~predicted[~above]))
            if score > best[0] + 1e-12:
                best = (score, float(cut), direction)
    result.update(balanced_accuracy=float(best[0]), cut=best[1], direction=best[2], separates=bool(best[0] == 1.0))
    return result


def association(x, y, *, y_draws=None, replicates: int = REPLICATES, level: float = LEVEL, seed=0) -> dict:
    """How ``x`` goes with ``y`` across settings: Spearman's ρ and the one-variable R², with bootstrap intervals.

    Args:
      x, y: ``(n,)`` one value per setting (NaN entries of either are left out, with their draws).
      y_draws: optional ``(n, B')`` bootstrap replicates of each y (a setting's slope replicates): replicate b
        resamples the settings and takes for each picked one a random replicate of its y.
      replicates: bootstrap replicates over settings; level: the interval's coverage; seed: int or Generator.

    Returns:
      ``{"n", "spearman": {value, low, high}, "r2": {value, low, high}, "slope": {value, low, high}}`` (slope of
      the least-squares line of y on x); values None where undefined (fewer than 3 settings, constant x); low
      and high None with fewer than :data:`MIN_SETTINGS` settings.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have one value per setting, got shapes {x.shape} and {y.shape}.")
    replicates = check_integer(replicates, "replicates", minimum=10)
    level = check_real(level, "level", low=0, high=1, low_open=True, high_open=True)
    keep = np.isfinite(x) & np.isfinite(y)
    draws = None
    if y_draws is not None:
        draws = as_array(np.asarray(y_draws, dtype=float), "y_draws", ndim=2, finite=False)
        if draws.shape[0] != x.size:
            raise ValueError(f"y_draws must be (n, B) with n = {x.size} settings, got shape {draws.shape}.")
        keep &= np.all(np.isfinite(draws), axis=1)
        draws = draws[keep]
    x, y = x[keep], y[keep]
    n = int(x.size)
    empty = dict(value=None, low=None, high=None)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return dict(n=n, spearman=empty, r2=empty, slope=empty)
    rng = as_rng(seed)
    index = rng.integers(0, n, size=(replicates, n))
    xb = x[index]
    yb = y[index] if draws is None else draws[index, rng.integers(0, draws.shape[1], size=(replicates, n))]
    rho = float(stats.spearmanr(x, y).statistic)
    rho_b = correlations(stats.rankdata(xb, axis=1), stats.rankdata(yb, axis=1))
    r = float(np.corrcoef(x, y)[0, 1])
    r_b = correlations(xb, yb)
    xc = xb - xb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope_b = (xc * (yb - yb.mean(axis=1, keepdims=True))).sum(axis=1) / (xc * xc).sum(axis=1)
    slope = float(np.polyfit(x, y, 1)[0])
    found = dict(n=n, spearman=_interval(rho, rho_b, level), r2=_interval(r * r, r_b * r_b, level),
                 slope=_interval(slope, slope_b, level))
    if n < MIN_SETTINGS:
        for key in ("spearman", "r2", "slope"):
            found[key].update(low=None, high=None)
    return found


def answer(table, temperature: float | None = 1.0, *, variables=tuple(VARIABLES), replicates: int = REPLICATES,
           seed: int = 0) -> dict:
    """What goes with the test slope across the settings at one ``temperature`` (records of :func:`setting_table`);
    ``temperature=None`` pools every temperature (the saturation is then that of each row's own softmax(z/τ), so
    the temperature itself moves it).

    Returns ``{"temperature", "settings", "above_one": {"point", "interval"}, "below_one", "variables": {key:
    {"label", **association, "threshold"}}, "best_upstream", "best_upstream_r2", "identity_note"}``:
    ``above_one["point"]`` counts slopes > 1, ``above_one["interval"]`` intervals wholly above 1
    (``below_one`` wholly below); ``best_upstream`` is the :data:`UPSTREAM` variable with the largest R².
    Per variable, ``threshold`` separates the point slopes > 1 from the others, ``threshold_decided`` only the
    settings whose interval excludes 1 (wholly above against wholly below; those straddling 1 left out).
    """
    records = [r for r in table if temperature is None or abs(r["temperature"] - temperature) < 1e-9]
    slope = np.array([r["slope"] for r in records], dtype=float)
    with_draws = bool(records) and all(r.get("draws") for r in records) and len(
        {len(r["draws"]) for r in records}) == 1
    draws = np.array([r["draws"] for r in records], dtype=float) if with_draws else None
    result = dict(temperature=None if temperature is None else float(temperature), settings=len(records),
                  above_one=dict(point=int(np.sum(slope > 1)),
                                 interval=int(sum(r["low"] is not None and r["low"] > 1 for r in records))),
                  below_one=int(sum(r["high"] is not None and r["high"] < 1 for r in records)),
                  slope_range=[float(slope.min()), float(slope.max())] if records else None,
                  within_setting_draws=with_draws, variables={})
    # decided settings: the slope's interval lies wholly above or wholly below 1 (without one: the point)
    low = np.array([r["slope"] if r["low"] is None else r["low"] for r in records], dtype=float)
    high = np.array([r["slope"] if r["high"] is None else r["high"] for r in records], dtype=float)
    straddles = (low <= 1) & (high >= 1)
    for key in variables:
        x = np.array([np.nan if r.get(key) is None else r[key] for r in records], dtype=float)
        entry = dict(label=VARIABLES.get(key, key),
                     **association(x, slope, y_draws=draws, replicates=replicates, seed=seed),
                     threshold=threshold(x, slope > 1),
                     threshold_decided=threshold(np.where(straddles, np.nan, x), low > 1))
        result["variables"][key] = entry
    scores = {key: result["variables"][key]["r2"]["value"] for key in UPSTREAM if key in result["variables"]
              and result["variables"][key]["r2"]["value"] is not None}
    best = max(scores, key=scores.get) if scores else None
    result.update(best_upstream=best, best_upstream_r2=scores.get(best),
                  identity_note="slope = r · σS/σT exactly, so r and σS/σT together explain every slope; the "
                                "question is what sets them (the upstream variables).")
    return result
