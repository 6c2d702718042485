"""Figure ``regimes-nn``: where does the τ = 1 slope exceed 1 on networks? The regime map (claim C1, networks).

Reads a stored regime sweep (``python -m theory.nets.sweep --grid regimes --seeds 3 --out results/regimes``,
:data:`theory.nets.grids.REGIMES`): per setting, the C1 test slope of φ(p_student) on φ(p_teacher) with its 95 %
bootstrap interval, beside the regime variables the sweep measured (the teacher's saturation and entropy on the
student's training inputs, the teacher's accuracies, the pair's KL and agreement, r and σS/σT;
:func:`theory.nets.analysis.regime`), coloured by the axis the setting varies (augmentation, teacher label
smoothing, teacher budget, student budget, weight decay). Beside it, the kernel model's prediction
(:func:`theory.regimes.regime_map`, an RBF kernel teacher and student on the same dataset, over teacher budgets
and temperatures, t̃ = T): its slope against the teacher's budget, with its teacher's saturation.

The question, answered with numbers in ``data["answer"]`` and the claims (:mod:`theory.nets.regime_map`): is the
teacher's saturation on the student's training inputs what decides whether the τ = 1 slope exceeds 1? Spearman's ρ
and the one-variable R² of each variable against the τ = 1 slope across settings, with 95 % intervals from a
bootstrap over settings (and, per picked setting, over its own slope replicates), and the best single threshold
separating slope > 1 from slope ≤ 1. Analysis and findings: docs/regimes.md.

The default never trains the map: without a stored sweep in ``sweep`` the result is "not run" and says the one
command that produces it. ``paper_figs.py --fig regimes-nn --sweep DIR`` reads another sweep; ``--quick``
trains a tiny grid (digits, MLP, base, teacher label smoothing 0.3, a 2-epoch teacher; τ ∈ {1, 4}; 2 seeds) through the sweep
engine in this process.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from theory.evidence import Claim, Estimate, at_least, greater_than, less_than
from theory.nets import DEFAULT_RUN_DIR
from theory.nets import regime_map as rm

NAME = "regimes-nn"
KIND = "networks"
DESCRIPTION = "networks: the regime map — C1 slope with intervals against the regime variables, kernel model beside"

#: the one command that produces the default sweep.
COMMAND = "python -m theory.nets.sweep --grid regimes --seeds 3 --out results/regimes"
#: the variables plotted against the slope (the first three panels).
PANELS = ("train_saturation", "train_teacher_entropy", "test_kl")


@dataclass(frozen=True)
class Config:
    """``sweep``: the directory of a stored sweep (``sweep.json``; ``--sweep DIR``). ``train``: train the tiny
    quick grid into ``sweep`` (or ``<run_dir>/../regimes-quick`` when ``sweep`` is empty) first — only
    :meth:`quick` does. ``temperature``: the τ of the question; kernel model on ``kernel_n_train`` points
    of the sweep's dataset, teacher budgets ``kernel_steps`` (t̃ = T), τ ∈ {1, 2, 4}.

    Measured (``--grid regimes --seeds 3``: 4 data × architecture bases, 132 settings, docs/regimes.md): at
    τ = 1 no setting's slope interval lies above 1 (42 of 44 below; one point estimate above, 1.011 [0.982,
    1.040]); Spearman ρ with the teacher's saturation −0.35 [−0.61, −0.02] pooled and −0.73, −0.65, −0.54
    (intervals below 0) within three bases, −0.09 [−0.64, 0.47] on digits — the opposite sign of the
    hypothesis or none; the slope follows the one-hot control's slope (ρ 0.74–0.96 within bases): the
    student's budget and weight decay move both (0.36–0.96 at a fixed teacher).
    """

    sweep: str = "results/regimes"
    train: bool = False
    seeds: int = 2
    temperature: float = 1.0
    replicates: int = 2000
    kernel_n_train: int = 500
    kernel_steps: tuple = (100, 300, 1000, 3000)
    seed: int = 0
    run_dir: str = DEFAULT_RUN_DIR  # the quick grid's runs; paper_figs.py sets --runs
    progress: bool = True

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """Trains 6 tiny digits settings × 2 seeds (about 30 s) and a small kernel model."""
        return replace(cls(sweep="", train=True, replicates=500, kernel_n_train=200, kernel_steps=(30, 100)),
                       **overrides)


def quick_settings() -> list:
    """The quick grid: digits MLP (32 wide, 6 + 6 epochs), base, teacher label smoothing 0.3 and a 2-epoch teacher
    (the saturation axis), τ ∈ {1, 4}."""
    from theory.nets.experiment import Setting

    base = Setting("digits mlp", dataset="digits", model="mlp", width=32, depth=1, teacher_epochs=6,
                   student_epochs=6, record=3, track_points=100)
    return [replace(base, name=f"digits mlp, {label}, τ={t:g}", temperature=t, **changes)
            for label, changes in (("base", {}), ("teacher ls=0.3", dict(teacher_label_smoothing=0.3)),
                                   ("teacher 2ep", dict(teacher_epochs=2)))
            for t in (1.0, 4.0)]


def _sweep_dir(config: Config) -> Path:
    if config.sweep:
        return Path(config.sweep).expanduser()
    return Path(config.run_dir).expanduser().resolve().parent / "regimes-quick"


# --------------------------------------------------------------------------------------------- compute
def compute(config: Config = Config()) -> dict:
    """The per-setting records and the answers (τ = 1, 2, 4) of a stored sweep, and the kernel model."""
    out = _sweep_dir(config)
    if config.train:
        from theory.nets.sweep import sweep_settings

        sweep_settings(quick_settings(), range(config.seeds), config.run_dir, out=out, progress=False,
                       log=(print if config.progress else (lambda line: None)))
    path = out / "sweep.json"
    base = dict(config=asdict(config), sweep=str(out), command=COMMAND)
    if not path.is_file():
        return dict(base, status="not run", note=f"no sweep in {str(out)!r}: run `{COMMAND}` (or give --sweep DIR)")
    rows = json.loads(path.read_text())
    table = rm.setting_table(rows)
    temperatures = sorted({record["temperature"] for record in table})
    answers = {f"{t:g}": rm.answer(table, t, replicates=config.replicates, seed=config.seed) for t in temperatures}
    answers["all"] = rm.answer(table, None, replicates=config.replicates, seed=config.seed)
    main = answers.get(f"{config.temperature:g}")
    # within each data × architecture: the pooled answer mixes differences between bases with those within one
    bases = sorted({record["base"] for record in table})
    by_base = {name: rm.answer([r for r in table if r["base"] == name], config.temperature,
                               replicates=config.replicates, seed=config.seed) for name in bases} if len(bases) > 1 else {}
    kernel_data = sorted({_kernel_dataset(r["data"].split()[0]) for r in table})
    kernels = [_kernel(config, dataset) for dataset in kernel_data]
    records = [{k: v for k, v in r.items() if k != "draws"} for r in table]
    summary = " ".join([_summary(main, kernels)] + [f"{name}: {_summary(found, [])}" for name, found in by_base.items()]
                       + ["Pooled over τ: " + _summary(answers["all"], [])])
    return dict(base, status="done", rows=len(rows), complete=len(table), failed=len(rows) - len(table),
                table=records, answers=answers, answer=main, by_base=by_base, kernels=kernels, summary=summary)


def _kernel_dataset(dataset: str) -> str:
    """The kernel model's dataset for a sweep's: digits or MNIST-1D (its default generator: a harder variant's
    options are not applied to the kernel model)."""
    return dataset if dataset in ("digits", "mnist1d") else "mnist1d"


def _kernels_of(data: dict) -> list:
    """The kernel models of a result (``kernels``; a result stored before it had one ``kernel``)."""
    return data.get("kernels") or ([data["kernel"]] if data.get("kernel") else [])


def _summary(answer: dict | None, kernels: list) -> str:
    """The answer in one paragraph of numbers (stored in the JSON beside ``answer``)."""
    if not answer or not answer["settings"]:
        return "no setting at the question's temperature in this sweep."
    tau, n, variables = answer["temperature"], answer["settings"], answer["variables"]
    parts = [f"{'every τ' if tau is None else f'τ = {tau:g}'}: {answer['above_one']['point']} of {n} settings "
             f"with slope > 1 "
             f"({answer['above_one']['interval']} with the 95% CI above 1, {answer['below_one']} below 1)"]
    for key in ("train_saturation", "train_teacher_entropy"):
        entry = variables.get(key)
        if entry:
            parts.append(f"{entry['label']}: Spearman ρ {_interval(entry['spearman'])}, R² {_interval(entry['r2'])}")
    if answer["best_upstream"]:
        entry = variables[answer["best_upstream"]]
        parts.append(f"largest R² of the candidates: {entry['label']} {_interval(entry['r2'])}")
    for kernel in kernels if tau is not None else ():
        at = [e for e in kernel["entries"] if e["temperature"] == tau]
        if at:
            parts.append(f"kernel model ({kernel['dataset']}, n={kernel['n_train']}): τ = {tau:g} slope "
                         f"{min(e['test_slope'] for e in at):.3f}–{max(e['test_slope'] for e in at):.3f} over "
                         f"T = {at[0]['teacher_steps']}–{at[-1]['teacher_steps']} steps, teacher saturation ≤ "
                         f"{max(e['train_saturation'] for e in at):.3g}")
    return "; ".join(parts) + "."


def _kernel(config: Config, dataset: str) -> dict:
    """The kernel model on ``dataset``: per (teacher steps T, τ), t̃ = T, the test slope, r, σS/σT, the
    teacher's saturation and entropy on the training points, and the teacher's test accuracy."""
    from theory.metrics.regime import regime
    from theory.regimes import kernel_task, regime_map

    task = kernel_task(dataset, n_train=config.kernel_n_train, seed=config.seed)
    steps, temperatures = list(config.kernel_steps), [1.0, 2.0, 4.0]
    result = regime_map(task, teacher_steps=steps, student_steps=steps, temperatures=temperatures,
                        bottom=(10, min(40, task.data.n_train)), keep_logits=True)
    entries = []
    for j, t_steps in enumerate(steps):
        for s, temperature in enumerate(temperatures):
            measured = regime(result.logits["teacher_test"][0, j], result.logits["student_test"][0, j, s, j],
                              temperature=temperature)
            train = regime(result.logits["teacher_train"][0, j], result.logits["student_train"][0, j, s, j],
                           temperature=temperature)
            entries.append(dict(teacher_steps=t_steps, temperature=temperature, test_slope=measured.slope,
                                test_correlation=measured.correlation, test_spread_ratio=measured.spread_ratio,
                                train_saturation=train.saturation, train_teacher_entropy=train.teacher_entropy,
                                teacher_test_accuracy=float(result.teacher["test_accuracy"][0, j])))
    return dict(dataset=dataset, n_train=task.data.n_train, entries=entries)


# --------------------------------------------------------------------------------------------- plot
def plot(data: dict):
    """Six panels: the τ = 1 slope (95 % CI) against saturation, entropy and KL; r against σS/σT; the slope
    per setting at every τ; the kernel model's slope against its teacher's budget. Not run: the command."""
    import matplotlib.pyplot as plt

    from .style import use

    use()
    if data.get("status") != "done":
        figure, ax = plt.subplots(figsize=(6.0, 1.6), layout="constrained")
        ax.axis("off")
        ax.text(0.5, 0.5, f"regime map not run: no sweep in {data['sweep']}\nrun: {data['command']}",
                ha="center", va="center")
        return figure
    figure, axes = plt.subplots(2, 3, figsize=(11.0, 6.4), layout="constrained")
    colours = dict(zip(rm.AXES, plt.get_cmap("tab10").colors))
    tau = data["config"]["temperature"]
    records = [r for r in data["table"] if abs(r["temperature"] - tau) < 1e-9]
    answer = data["answer"] or {"variables": {}}
    bases = sorted({r.get("base", r["data"]) for r in data["table"]})
    markers = dict(zip(bases, "osD^vP*X"))
    for ax, key in zip(axes[0], PANELS):
        labelled = set()
        for axis in rm.AXES:
            for name in bases:
                group = [r for r in records if r["axis"] == axis and r.get("base", r["data"]) == name
                         and r.get(key) is not None]
                if group:
                    _errorbars(ax, [r[key] for r in group], group, colours[axis],
                               None if axis in labelled else axis, marker=markers[name])
                    labelled.add(axis)
        ax.axhline(1.0, color="0.5", ls="--", lw=0.8)
        found = answer["variables"].get(key, {}).get("spearman", {})
        ax.set(xlabel=rm.VARIABLES[key], ylabel=f"test slope at τ = {tau:g}",
               title=f"Spearman ρ {_interval(found)}")
    for name in bases[1:] if len(bases) > 1 else ():  # the marker of each data × architecture
        axes[0, 0].plot([], [], markers[name], color="0.4", ms=3, label=name)
    if len(bases) > 1:
        axes[0, 0].plot([], [], markers[bases[0]], color="0.4", ms=3, label=bases[0])
    axes[0, 0].legend(loc="best", fontsize=6)
    ax = axes[1, 0]
    for axis in rm.AXES:
        group = [r for r in records if r["axis"] == axis and r.get("test_correlation") is not None]
        if group:
            ax.scatter([r["test_spread_ratio"] for r in group], [r["test_correlation"] for r in group], s=12,
                       color=colours[axis])
    spreads = [r["test_spread_ratio"] for r in records if r.get("test_spread_ratio") is not None] or [1.0]
    ratio = np.linspace(min(0.9, min(spreads) - 0.05), max(1.1, max(spreads) + 0.05), 50)
    ax.plot(ratio, 1 / ratio, color="0.5", ls="--", lw=0.8, label="slope = r · σS/σT = 1")
    ax.set(xlabel="σS/σT (test)", ylabel="r (test)", title=f"τ = {tau:g}: the identity slope = r · σS/σT")
    ax.set_ylim(top=1.02)
    ax.legend(loc="best")
    ax = axes[1, 1]
    families = sorted({r["family"] for r in data["table"]})
    for i, family in enumerate(families):
        group = sorted((r for r in data["table"] if r["family"] == family), key=lambda r: r["temperature"])
        shift = 0.06 * (i - len(families) / 2) / max(1, len(families))
        _errorbars(ax, [r["temperature"] + shift for r in group], group, colours[group[0]["axis"]], None, line=True)
    ax.axhline(1.0, color="0.5", ls="--", lw=0.8)
    ax.set(xlabel="τ", ylabel="test slope", xticks=[1, 2, 4], title=f"every setting at τ = 1, 2, 4 ({len(families)})")
    ax = axes[1, 2]
    kernels = _kernels_of(data)
    for kernel, style in zip(kernels, ("-", ":", "--")):
        for temperature, marker in ((1.0, "o"), (2.0, "s"), (4.0, "^")):
            group = [e for e in kernel["entries"] if e["temperature"] == temperature]
            ax.plot([e["teacher_steps"] for e in group], [e["test_slope"] for e in group], marker + style, ms=4,
                    color="black", lw=0.8, label=f"{kernel['dataset']}, τ = {temperature:g}")
    ax.axhline(1.0, color="0.5", ls="--", lw=0.8)
    most = max((e["train_saturation"] for k in kernels for e in k["entries"]), default=float("nan"))
    ax.set(xlabel="kernel teacher steps T (= student steps)", ylabel="kernel test slope", xscale="log",
           title=f"RBF kernel, n={'/'.join(str(k['n_train']) for k in kernels)}: saturation ≤ {most:.2g}")
    ax.legend(loc="best")
    figure.suptitle(f"regime map: {data['complete']} settings from {data['sweep']}")
    return figure


def _errorbars(ax, x, records, colour, label, line: bool = False, marker: str = "o"):
    y = np.array([r["slope"] for r in records])
    low = np.array([r["low"] if r["low"] is not None else r["slope"] for r in records])
    high = np.array([r["high"] if r["high"] is not None else r["slope"] for r in records])
    ax.errorbar(x, y, yerr=[y - low, high - y], fmt=marker + "-" if line else marker, ms=3, lw=0.8 if line else 0,
                elinewidth=0.8, color=colour, label=label)


def _number(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interval(found: dict, digits: int = 2) -> str:
    if not found or found.get("value") is None:
        return "–"
    if found.get("low") is None:
        return f"{found['value']:.{digits}f}"
    return f"{found['value']:.{digits}f} [{found['low']:.{digits}f}, {found['high']:.{digits}f}]"


# --------------------------------------------------------------------------------------------- claims
def _estimate(found: dict) -> Estimate:
    """The interval of an association as an Estimate; without an interval (too few settings): not run."""
    if not found or found.get("value") is None or found.get("low") is None:
        return Estimate(None)
    return Estimate(found["value"], found["low"], found["high"])


def _bound(record: dict, side: str) -> float:
    return record["slope"] if record.get(side) is None else record[side]


def claims(data: dict) -> list:
    """C1 at τ = 1 over the map (reproduced when some setting's interval lies above 1, not reproduced when every
    one lies below 1), and the answer: Spearman ρ of
    the τ = 1 slope with the teacher's saturation (> 0) and entropy (< 0), the best upstream variable's R²
    (≥ 0.5: explains half the variance), and whether one saturation cut separates slope > 1 from ≤ 1.

    An association over fewer than :data:`theory.nets.regime_map.MIN_SETTINGS` settings has no interval: not run.
    """
    if data.get("status") != "done" or not data.get("answer"):
        where = f"regime map ({data.get('sweep')}): not run — {data.get('command', COMMAND)}"
        missing = Estimate(None)
        return [Claim(claim="C1 test τ=1 (regime map)", setting=where, statement="the τ = 1 test slope exceeds 1 "
                      "in some regime", evidence=missing, criterion=greater_than(0.0), measured="not run"),
                Claim(claim="saturation → slope", setting=where, statement="saturation decides the τ = 1 slope",
                      evidence=missing, criterion=greater_than(0.0), measured="not run")]
    answer = data["answer"]
    variables = answer["variables"]
    tau, n = answer["temperature"], answer["settings"]
    seeds = sorted({r["seeds"] for r in data["table"]})
    schemes = sorted({r["scheme"] for r in data["table"] if r.get("scheme")})
    few = f"; fewer than {rm.MIN_SETTINGS} settings: associations not judged" if n < rm.MIN_SETTINGS else ""
    where = (f"regime map {data['sweep']}: {n} settings at τ = {tau:g} ({data['complete']} complete of "
             f"{data['rows']} rows), {'/'.join(map(str, seeds))} seed(s); slopes: {'; '.join(schemes) or 'points'}; "
             f"associations: 95% bootstrap over settings"
              + (" and each setting's slope replicates" if answer["within_setting_draws"] else "") + few)
    at_tau = [r for r in data["table"] if abs(r["temperature"] - tau) < 1e-9]
    saturation, entropy = variables["train_saturation"], variables["train_teacher_entropy"]
    best = answer["best_upstream"]
    best_entry = variables.get(best, {}) if best else {}
    # the settings whose slope interval excludes 1 (a stored result without them: the point slopes)
    decided = "threshold_decided" in saturation
    cut = saturation["threshold_decided" if decided else "threshold"]
    side = "with the interval above 1" if decided else "with slope > 1"
    cut_text = (f"no setting {side}: nothing to separate" if cut["balanced_accuracy"] is None else
                f"best cut {cut['direction']} {cut['cut']:.3g}, balanced accuracy {cut['balanced_accuracy']:.2f} "
                f"({cut['n_above']} of {cut['n']} {side}; min saturation there {cut['above_min']:.3g}, max "
                f"elsewhere {cut['below_max']:.3g})")
    if decided:
        cut_text += (f"; {n - cut['n']} of {n} settings left out (interval straddling 1, or no saturation); on "
                     f"the point slopes: balanced accuracy {_number(saturation['threshold']['balanced_accuracy'])}")
    ranked = sorted((v["r2"]["value"], k) for k, v in variables.items() if k in rm.UPSTREAM and v["r2"]["value"]
                    is not None)[::-1]
    ranking = ", ".join(f"{variables[k]['label']} {_interval(variables[k]['r2'])}" for _, k in ranked[:3])
    result = [
        _c1_claim(answer, at_tau, where, "regime map"),
        _saturation_claim(answer, where, ""),
        Claim(claim="entropy → slope", setting=where,
              statement="the lower the teacher's entropy on the student's training inputs, the higher the slope",
              measured=f"Spearman ρ {_interval(entropy['spearman'])}, R² {_interval(entropy['r2'])}",
              evidence=_estimate(entropy["spearman"]), criterion=less_than(0.0), criterion_text="ρ < 0 (95% CI)"),
        Claim(claim="best upstream variable", setting=where,
              statement="one measured upstream variable explains at least half of the slope's variance",
              measured=f"R² (one-variable line): {ranking or '–'}; {answer['identity_note']}",
              evidence=_estimate(best_entry.get("r2")), criterion=at_least(0.5), criterion_text="R² ≥ 0.5 (95% CI)"),
        Claim(claim="saturation threshold", setting=where,
              statement="slope > 1 occurs exactly above (or below) one saturation cut", measured=cut_text,
              evidence=Estimate(cut["balanced_accuracy"]), criterion=at_least(1.0),
              criterion_text="balanced accuracy of the best cut = 1 (settings whose 95% CI excludes 1)"),
    ]
    for name, found in (data.get("by_base") or {}).items():  # within one data × architecture
        records = [r for r in at_tau if r.get("base") == name]
        within = f"{where}; {name} only ({found['settings']} settings)"
        result += [_c1_claim(found, records, within, name), _saturation_claim(found, within, f" ({name})")]
    return result


def _c1_claim(answer: dict, records: list, where: str, label: str) -> Claim:
    """C1 at the answer's τ over ``records``: reproduced when some setting's interval lies above 1, not reproduced
    when every one lies below 1 (the largest slope's interval, conservatively [max low, max high])."""
    tau, n, above = answer["temperature"], answer["settings"], answer["above_one"]
    largest = (Estimate(max(r["slope"] for r in records), max(_bound(r, "low") for r in records),
                        max(_bound(r, "high") for r in records)) if records else Estimate(None))
    low, high = answer["slope_range"] or (float("nan"), float("nan"))
    return Claim(claim=f"C1 test τ={tau:g} ({label})", setting=where,
                 statement=f"the τ = {tau:g} test slope exceeds 1 in some regime of the map",
                 measured=(f"{above['interval']} of {n} settings with the slope's interval above 1, "
                           f"{answer['below_one']} below, {above['point']} with slope > 1; slopes {low:.3f}–{high:.3f}"),
                 evidence=largest, criterion=greater_than(1.0),
                 criterion_text="some setting's 95% CI above 1 (all below 1: not reproduced)")


def _saturation_claim(answer: dict, where: str, label: str) -> Claim:
    """Spearman's ρ of the teacher's saturation on the student's training inputs with the slope, > 0 (95% CI)."""
    saturation = answer["variables"]["train_saturation"]
    return Claim(claim=f"saturation → slope{label}", setting=where,
                 statement="the more saturated the teacher on the student's training inputs, the higher the "
                           f"τ = {answer['temperature']:g} slope",
                 measured=f"Spearman ρ {_interval(saturation['spearman'])}, R² {_interval(saturation['r2'])}",
                 evidence=_estimate(saturation["spearman"]), criterion=greater_than(0.0),
                 criterion_text="ρ > 0 (95% CI)")


__all__ = ["NAME", "KIND", "DESCRIPTION", "Config", "compute", "plot", "claims", "quick_settings", "COMMAND"]
