"""The evidence of the ``denoise`` figure: the 95 % intervals of its measured numbers and its claims.

:func:`intervals` runs inside ``figures.denoise.compute`` (while the per-point arrays are in memory) and stores
``[value, low, high]`` per name in the figure's JSON; :func:`claims` reads them back (docs/uncertainty.md). Split
from :mod:`figures.denoise`, which computes and plots the panels.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from theory.evidence import Claim, Estimate, Exact, at_least, greater_than, less_than
from theory.metrics.bootstrap import difference_interval, fieller_interval, point_replicates, ratio_interval

#: the student targets, in the order of the panels (as in :mod:`figures.denoise`).
TARGETS = ("onehot", "bayes", "teacher", "late")

__all__ = ["intervals", "interval", "claims", "CLOSED_FORM_TOLERANCE"]


def _after_index(steps, switch_step: int) -> int:
    """Index of the time point nearest (in log) to twice the switch step."""
    return int(np.argmin(np.abs(np.log(np.maximum(np.asarray(steps), 1) / (2.0 * switch_step)))))


def _normal_intervals(difference, standard_error, level: float):
    """``(low, high)`` arrays: difference ∓ z·SE at ``level`` (normal, for Monte Carlo means over many draws)."""
    z = float(stats.norm.ppf((1 + level) / 2))
    return difference - z * standard_error, difference + z * standard_error


def intervals(config, data, panel_a, panel_b, student_runs, grid, switch_step, hard, easy) -> dict:
    """95 % intervals of the measured claims (docs/uncertainty.md), ``{name: [value, low, high]}``.

    Bootstrap over points (the kernel models fixed, the points resampled): paired over the same test points for
    students compared, unpaired between the disjoint hard and easy groups; the recovered fractions by Fieller's
    interval, NaN (not judged) unless the teacher-target gain's interval lies above 0. The Monte Carlo gradient
    variances: normal intervals from their standard errors (1000 draws), at the Bonferroni level over batch sizes.
    """
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 6]))  # apart from the figure's own streams
    options = dict(replicates=config.replicates, seed=rng)
    split = data.n_test
    test = {name: np.sum((run.test[:, :split, columns] - data.p_star_test) ** 2, axis=-1)  # (T, m) per point
            for name, (run, columns) in student_runs.items()}
    train = {name: np.sum((student_runs[name][0].train[-1, :, student_runs[name][1]] - data.p_star_train) ** 2, -1)
             for name in ("onehot", "bayes")}
    result = {}

    def keep(name, estimate):
        result[name] = [estimate.value, estimate.low, estimate.high]

    noise = panel_a["predicted"]
    keep("noise_hard_minus_easy", difference_interval(noise[hard], noise[easy], paired=False, **options))
    sizes = panel_b["batch_sizes"]
    mc, se = panel_b["monte_carlo"], panel_b["monte_carlo_standard_error"]
    difference = np.asarray(mc["bayes"]) - np.asarray(mc["onehot"])  # SEs added: conservative for paired draws
    low, high = _normal_intervals(difference, np.hypot(se["bayes"], se["onehot"]), 1 - 0.05 / len(sizes))
    result["variance_monte_carlo"] = [float(difference.max()), float(low.max()), float(high.max())]
    keep("hard_minus_easy_onehot", difference_interval(train["onehot"][hard], train["onehot"][easy], paired=False,
                                                       **options))
    keep("bayes_minus_onehot_hard", difference_interval(train["bayes"][hard], train["onehot"][hard], **options))
    for name in ("bayes", "teacher"):
        keep(f"{name}_minus_onehot", difference_interval(test[name][-1], test["onehot"][-1], **options))
    # each student at its best step (chosen on the whole test set, held fixed in the resamples)
    best = {name: test[name][1 + int(np.argmin(test[name][1:].mean(axis=1)))] for name in ("teacher", "onehot")}
    value, draws = point_replicates(lambda a, b: np.stack([a.mean(-1), b.mean(-1)], -1),
                                    (best["teacher"], best["onehot"]), **options)
    keep("best_teacher_over_onehot", fieller_interval(value[0], value[1], draws[:, 0], draws[:, 1]))
    for suffix, index in (("", -1), ("_after", _after_index(grid, switch_step))):
        gain = difference_interval(test["onehot"][index], test["teacher"][index], **options)
        keep(f"gain{suffix}", gain)
        recovered = (ratio_interval(test["onehot"][index], test["late"][index], test["onehot"][index],
                                    test["teacher"][index], **options) if gain.low > 0 else Estimate(None))
        keep(f"recovered{suffix}", recovered)
    return result


# --------------------------------------------------------------------------------------------- claims
#: relative tolerance of the closed forms (float64 eigendecompositions and sums): Exact evidence.
CLOSED_FORM_TOLERANCE = 1e-9


def interval(data: dict, name: str, fallback) -> Estimate:
    """The stored ``[value, low, high]`` of ``name`` as an Estimate (NaN, stored as None: not judged); the point
    ``fallback`` for a result stored before intervals."""
    stored = data.get("intervals", {}).get(name)
    if stored is None:
        return Estimate(fallback)
    value, low, high = (float("nan") if x is None else x for x in stored)
    return Estimate(value, low, high)



def claims(data: dict) -> list:
    """Verdicts that the numbers support, with the numbers.

    Measured numbers carry 95 % intervals (``data["intervals"]``, :func:`intervals`; docs/uncertainty.md):
    bootstrap over the points for the students' distances to p* and the hard/easy contrasts, Fieller's interval
    for the recovered fraction (not judged unless the gain's interval lies above 0), normal intervals for the
    Monte Carlo variances. Closed forms on the figure's sample are :class:`~theory.evidence.Exact` (relative
    tolerance :data:`CLOSED_FORM_TOLERANCE`). The checks of a closed form against Monte Carlo (noise per point,
    zero mean, minibatch variance, Menon's gap) keep their rule "within 4 standard errors": they test an
    equality, which an interval excluding a null cannot reproduce.
    """
    a, b, c, d, f = (data[k] for k in "abcdf")
    setting = f"{data['config']['dataset']}, n={data['n_train']}, RBF kernel, squared loss"
    z = np.abs(np.asarray(a["z_scores"], dtype=float))
    binned_z = np.abs(np.asarray(a["binned_z_scores"], dtype=float))
    sizes = np.asarray(b["batch_sizes"])
    onehot, bayes = np.asarray(b["closed"]["onehot"]), np.asarray(b["closed"]["bayes"])
    teacher_error = np.asarray(b["closed"]["teacher"]) + b["teacher_bias"]
    monte_carlo_z = np.concatenate([np.abs(np.asarray(v, dtype=float)) for v in b["z_scores"].values()])
    monte_carlo_z = monte_carlo_z[np.isfinite(monte_carlo_z)]
    monte_carlo_onehot, monte_carlo_bayes = (np.asarray(b["monte_carlo"][k]) for k in ("onehot", "bayes"))
    removed = np.asarray(b["removed_by_bayes"])
    teacher_better = sizes[teacher_error < onehot]
    share = c["share_top"]
    students = d["students"]
    final = {name: float(students[name]["test_accuracy"][-1]) for name in TARGETS}
    best = {name: float(np.max(students[name]["test_accuracy"][1:])) for name in TARGETS}
    # judged on the test distance to p* (no test-label noise); accuracies are reported beside it
    final_distance = {name: float(students[name]["test_distance"][-1]) for name in TARGETS}
    best_distance = {name: float(np.min(students[name]["test_distance"][1:])) for name in TARGETS}
    gain = final_distance["onehot"] - final_distance["teacher"]
    recovered = (final_distance["onehot"] - final_distance["late"]) / gain if gain > 0 else float("nan")
    steps = np.asarray(d["steps"])
    after = _after_index(steps, d["switch_step"])  # the step nearest 2s
    distance_after = {name: float(students[name]["test_distance"][after]) for name in TARGETS}
    gain_after = distance_after["onehot"] - distance_after["teacher"]
    recovered_after = ((distance_after["onehot"] - distance_after["late"]) / gain_after if gain_after > 0
                       else float("nan"))
    hard_onehot, easy_onehot = students["onehot"]["hard_distance"][-1], students["onehot"]["easy_distance"][-1]
    hard_bayes = students["bayes"]["hard_distance"][-1]
    tolerance = CLOSED_FORM_TOLERANCE * float(np.max(onehot))  # the variances' scale
    note = f"; 95% CI, {data['config'].get('replicates', 'no')} bootstrap replicates over points"
    noise_contrast = interval(data, "noise_hard_minus_easy", a["hard_mean"] - a["easy_mean"])
    variance_mc = interval(data, "variance_monte_carlo", float(np.max(monte_carlo_bayes - monte_carlo_onehot)))
    hard_contrast = interval(data, "hard_minus_easy_onehot", hard_onehot - easy_onehot)
    hard_bayes_gain = interval(data, "bayes_minus_onehot_hard", hard_bayes - hard_onehot)
    student_gains = [interval(data, f"{name}_minus_onehot", final_distance[name] - final_distance["onehot"])
                     for name in ("bayes", "teacher")]
    best_ratio = interval(data, "best_teacher_over_onehot",
                           np.divide(best_distance["teacher"], best_distance["onehot"]))
    gain_ci = interval(data, "gain", gain)
    recovered_ci = interval(data, "recovered", recovered)
    recovered_after_ci = interval(data, "recovered_after", recovered_after)
    risk_z = np.abs(np.asarray(f["gap"]) - np.asarray(f["predicted_gap"])) / np.asarray(f["gap_standard_error"])
    return [
        Claim(claim="C4 noise", setting=setting + ", training points",
              statement="one-hot label noise has E‖e_y − p*‖² = 1 − ‖p*‖², largest on hard points",
              measured=f"binned by max p*: max |z| {binned_z.max():.2f} over {binned_z.size} bins ({np.mean(z < 3):.3f} "
                       f"of single points within 3 SE); mean noise hard {a['hard_mean']:.3f} vs easy "
                       f"{a['easy_mean']:.3f}, hard − easy {noise_contrast.show()}{note}",
              evidence=(Estimate.maximum(binned_z), noise_contrast),
              criterion=(less_than(4.0), greater_than(0.0)),
              criterion_text="every bin within 4 SE and hard > easy"),
        Claim(claim="C4 zero mean", setting=setting + f", {data['config']['label_draws']} label draws",
              statement="e_y − p*(x) has mean zero (the Bayes teacher's gradient is the one-hot gradient's mean)",
              measured=f"R = draws·Σ‖mean noise‖²/Σ(1 − ‖p*‖²) = {a['zero_mean_ratio']:.3f} ± "
                       f"{a['zero_mean_ratio_error']:.3f}",
              evidence=Estimate(np.divide(abs(a["zero_mean_ratio"] - 1), a["zero_mean_ratio_error"])),
              criterion=less_than(4.0),
              criterion_text="|R − 1| < 4 SE (R = 1 for zero-mean noise)"),
        Claim(claim="C4 variance", setting=setting + f", gradient at GD step {b['state_steps']}",
              statement="Bayes targets remove the label-noise part of the minibatch gradient variance",
              measured=f"removed {removed[0]:.1%} at b=1, {removed[len(removed) // 2]:.1%} at "
                       f"b={sizes[len(sizes) // 2]}, {removed[-1]:.0%} at b={sizes[-1]} (at initialisation "
                       f"{np.asarray(b['removed_by_bayes_initial'])[0]:.1%} at b=1); Monte Carlo max over b of "
                       f"Bayes − one-hot {variance_mc.show(form='.3g')} (normal CI, Bonferroni over {sizes.size} b)",
              # Bayes < one-hot at every b: the largest difference is negative (closed form: exact)
              evidence=(Exact(float(np.max(bayes - onehot)), tolerance), variance_mc),
              criterion=(less_than(0.0), less_than(0.0)),
              criterion_text="Bayes < one-hot at every b, in the closed form and in the Monte Carlo estimates"),
        Claim(claim="closed form", setting=setting + f", {data['config']['gradient_draws']} draws per batch size",
              statement="the closed-form minibatch variance equals Monte Carlo over label and batch draws",
              measured=f"max |Monte Carlo − closed form| / SE = {monte_carlo_z.max():.2f} over {monte_carlo_z.size} "
                       "comparisons",
              evidence=Estimate.maximum(monte_carlo_z), criterion=less_than(4.0),
              criterion_text="< 4 at every comparison"),
        Claim(claim="C4 teacher", setting=setting + f", trained teacher (T={d['teacher_steps']})",
              statement="a trained teacher's targets give a lower gradient error (variance + bias²) than one-hot",
              measured=f"teacher error / one-hot variance = {teacher_error[0] / onehot[0]:.3f} at b=1, "
                       f"{teacher_error[-1] / onehot[-1]:.3f} at b={sizes[-1]}; lower at b in "
                       f"{teacher_better.tolist()} (at initialisation the teacher removes "
                       f"{np.asarray(b['removed_by_teacher_initial'])[0]:.1%} at b=1, "
                       f"{np.asarray(b['removed_by_teacher_initial'])[-1]:.1%} at b={sizes[-1]})",
              evidence=Exact(float(np.max(teacher_error - onehot)), tolerance), criterion=less_than(0.0),
              criterion_text="lower at every batch size"),
        Claim(claim="C4 eigenspace", setting=setting + f", top {c['top_directions']} eigendirections of K",
              statement="label noise is spread over all eigendirections, the signal p* sits in the top ones",
              measured=f"share in top directions: noise {share['noise']:.3f} (uniform {share['uniform']:.3f}), "
                       f"signal {share['signal']:.3f}, teacher error {share['teacher_bias']:.3f}, "
                       f"function-space noise {share['function']:.3f}",
              evidence=(Exact(share["signal"], CLOSED_FORM_TOLERANCE),
                        Exact(np.divide(share["noise"], share["uniform"]), CLOSED_FORM_TOLERANCE)),
              criterion=(greater_than(0.9), less_than(2.0)),
              criterion_text="signal share > 0.9 and noise share < 2 × uniform"),
        Claim(claim="C4 hard points", setting=setting + ", final step, training points",
              statement="one-hot training's excess error sits on hard points; Bayes targets remove it",
              measured=f"mean ‖F − p*‖²: one-hot hard {hard_onehot:.3f} / easy {easy_onehot:.3f} (hard − easy "
                       f"{hard_contrast.show()}); Bayes targets hard {hard_bayes:.3f} (− one-hot "
                       f"{hard_bayes_gain.show()}, paired){note}",
              evidence=(hard_contrast, hard_bayes_gain),
              criterion=(greater_than(0.0), less_than(0.0)),
              criterion_text="one-hot hard > easy and Bayes-target hard < one-hot hard"),
        Claim(claim="C4 students", setting=setting + ", test points, last step",
              statement="students on Bayes or teacher targets generalise better than one-hot training",
              measured=f"test ‖f − p*‖²: one-hot {final_distance['onehot']:.4g}, Bayes {final_distance['bayes']:.4g}, "
                       f"teacher targets {final_distance['teacher']:.4g}; accuracy {final['onehot']:.3f}, "
                       f"{final['bayes']:.3f}, {final['teacher']:.3f} (Bayes classifier {d['bayes_accuracy']:.3f}); "
                       f"− one-hot: Bayes {student_gains[0].show(form='.4f')}, teacher "
                       f"{student_gains[1].show(form='.4f')} (paired){note}",
              evidence=tuple(student_gains),
              criterion=(less_than(0.0), less_than(0.0)),
              criterion_text="final Bayes and teacher-target distance to p* < one-hot's"),
        Claim(claim="C4 early stop", setting=setting + ", test points, each at its best step",
              statement="distillation from the trained teacher beats early-stopped one-hot training",
              measured=f"best test ‖f − p*‖²: one-hot {best_distance['onehot']:.4g}, teacher targets "
                       f"{best_distance['teacher']:.4g}, late switch {best_distance['late']:.4g}, Bayes targets "
                       f"{best_distance['bayes']:.4g}; best accuracy {best['onehot']:.3f}, {best['teacher']:.3f}, "
                       f"{best['late']:.3f}, {best['bayes']:.3f}; teacher / one-hot {best_ratio.show(form='.4f')} "
                       f"(Fieller, paired; best steps held fixed){note}",
              evidence=best_ratio,
              criterion=less_than(0.99),
              criterion_text="best teacher-target distance to p* below 0.99 × best one-hot's"),
        Claim(claim="C2", setting=setting + f", switch at step {d['switch_step']}, last step",
              statement="late distillation recovers most of the distillation gain",
              measured=(f"late switch test ‖f − p*‖² {final_distance['late']:.4g}: recovers {recovered_ci.show()} "
                        f"of the teacher-target gain {gain_ci.show(form='.4g')}; accuracy {final['late']:.3f} (one-hot "
                        f"{final['onehot']:.3f}, teacher targets {final['teacher']:.3f}); at step {steps[after]} "
                        f"(≈ 2s) {recovered_after_ci.show()} recovered{note}")
              if np.isfinite(recovered_ci.value) else
                       f"not judged: no gain to recover whose interval lies above 0 (teacher targets "
                       f"{final_distance['teacher']:.4f} vs one-hot {final_distance['onehot']:.4f}, gain "
                       f"{gain_ci.show(form='.4f')})",
              evidence=recovered_ci, criterion=at_least(0.5),  # not run without a gain to recover
              criterion_text="≥ 50% of the gain in distance to p* recovered at the last step (Fieller's 95% CI)"),
        Claim(claim="Menon", setting=setting + f", fixed teacher f, {data['config']['risk_repeats']} samples per n",
              statement="the Bayes-distilled risk has lower variance, by (1/n) E_x Var[ℓ_y(f(x)) | x]",
              measured=f"gap measured/predicted {np.round(np.asarray(f['gap']) / np.asarray(f['predicted_gap']), 3).tolist()}"
                       f" at n={np.asarray(f['sample_size']).tolist()}, max |z| {risk_z.max():.2f}",
              evidence=Estimate.maximum(risk_z), criterion=less_than(4.0),
              criterion_text="measured gap within 4 SE of the formula at every n"),
    ]
