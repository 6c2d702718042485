"""Figure ``xi``: beyond the paper in closed form — optimal teacher weights and repeated self-distillation.

A planted linear model (``theory.selfdistill``, docs/selfdistill.md): n Gaussian inputs in p dimensions with
population covariance Σ = diag(1, 1/2, …, 1/p), β* ~ N(0, I), labels Xβ* + ε with ε ~ N(0, σ² I), and the exact
population excess risk (β̂ − β*)ᵀΣ(β̂ − β*) of kernel (here linear) regression trained by a filter chain.

(a) Das & Sanghavi: the optimal teacher weight ξ* of one self-distillation round (student = teacher filter)
against the noise level σ, for a ridge (strength c), a gradient-flow (time 1/c) and a GD (η = 0.5/λ_max,
1/(cη) steps) teacher; ξ* crosses 1 at σ_cross (closed form) and tends to B₁/A₁ > 1. (b) The risk landscape
over ξ for the ridge teacher at three noise levels, relative to one-hot training (ξ = 0), with Monte Carlo
estimates (±2 standard errors, training on noisy labels) on top of the closed form. (c) Excess risk against the
number of rounds r with optimal weights and the optimal shared parameter, relative to r = 0 (the best single
model: optimal ridge, which is also the best infinite Borup & Andersen chain), on the planted model (solid) and
on Pareek, Du & Oh's construction (dashed: d distinct eigenvalues in [1, 2], β* along the bottom eigenvector,
signal-to-noise ``pareek_snr``). (d) On that construction, optimal one-round risk over optimal d-round risk
against d: the factor approaches d (d rounds reach the per-direction oracle).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

import theory as th
from theory.evidence import Claim, Estimate, Exact, at_least, at_most, greater_than, less_than

NAME = "xi"
KIND = "theory"
DESCRIPTION = ("closed forms beyond the paper: optimal teacher weight ξ* against label noise (Das & Sanghavi), "
               "risk over ξ, repeated rounds with optimal weights (Pareek et al., factor d; Borup & Andersen limit)")

FAMILIES = ("ridge", "flow", "gd")
sd = th.selfdistill


@dataclass(frozen=True)
class Config:
    """Settings of the ``xi`` figure (strengths in units of the Gram matrix XXᵀ, whose top eigenvalue is ≈ n)."""

    seed: int = 0  # the design and β*
    n_train: int = 100
    dimension: int = 20
    strength: float = 10.0  # c of the ridge teacher; flow time 1/c; GD steps 1/(c η)
    noise_levels: tuple = tuple(np.round(np.geomspace(0.05, 50.0, 41), 6))  # σ
    landscape_noise: tuple = (0.5, 2.0, 8.0)
    landscape_weights: tuple = tuple(np.round(np.linspace(-2.5, 3.0, 111), 6))  # ξ
    monte_carlo_weights: tuple = (-0.5, 0.5, 1.0, 1.5, 2.5)
    draws: int = 4000
    rounds_noise: float = 2.0
    max_rounds: int = 6
    pareek_dimensions: tuple = (2, 3, 4, 6, 8)
    pareek_snr: float = 1e4
    borup_rounds: int = 400
    borup_weight: float = 0.5

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """A smoke-test configuration (seconds)."""
        quick = cls(n_train=40, dimension=8, noise_levels=tuple(np.round(np.geomspace(0.05, 50.0, 9), 6)),
                    landscape_weights=tuple(np.linspace(-2.5, 3.0, 23)), monte_carlo_weights=(0.5, 1.5), draws=1000,
                    max_rounds=3, pareek_dimensions=(2, 4), borup_rounds=200)
        return replace(quick, **overrides)


def _model(config: Config, noise: float):
    rng = np.random.default_rng(config.seed)
    covariance = np.diag(1.0 / np.arange(1, config.dimension + 1))
    x = rng.normal(size=(config.n_train, config.dimension)) * np.sqrt(np.diag(covariance))
    return sd.PlantedModel.from_features(x, rng.normal(size=config.dimension), noise**2, covariance=covariance)


def _teachers(config: Config, model) -> dict:
    rate = 0.5 / model.spectrum.eigenvalues[0]
    return dict(ridge=th.ridge(config.strength), flow=th.flow(1.0 / config.strength),
                gd=th.gd(rate, max(1, int(round(1.0 / (config.strength * rate))))))


def _pareek(d: int, snr: float):
    signal = np.zeros(d)
    signal[-1] = np.sqrt(snr)
    return sd.PlantedModel.from_spectrum(np.linspace(2.0, 1.0, d), signal, 1.0)


def _oracle(model) -> float:
    z2, s2 = model.signal**2, model.noise_variance
    return float(np.sum(s2 * z2 / (z2 + s2)) / model.spectrum.n)


# --------------------------------------------------------------------------------------------- compute
def compute(config: Config = Config()) -> dict:
    """All closed forms, the Monte Carlo checks and the optimal chains; JSON-ready."""
    model = _model(config, 1.0)
    teachers = _teachers(config, model)
    noise = np.asarray(config.noise_levels, dtype=float)
    a = {}
    for family, teacher in teachers.items():
        quadratic = sd.teacher_weight_quadratic(model, teacher, teacher)
        crossing = quadratic.crossing()
        a[family] = dict(filter=repr(teacher), optimum=[quadratic.optimum(s**2) for s in noise],
                         crossing_sigma=None if crossing is None else float(np.sqrt(crossing)), limit=quadratic.limit,
                         curvature=[quadratic.curvature[0] + s**2 * quadratic.curvature[1] for s in noise])

    weights = np.asarray(config.landscape_weights, dtype=float)
    b = []
    for sigma in config.landscape_noise:
        noisy = model.with_noise(sigma**2)
        teacher = teachers["ridge"]
        quadratic = sd.teacher_weight_quadratic(noisy, teacher, teacher)
        checks = []
        for xi in config.monte_carlo_weights:
            exact = sd.chain_risk(noisy, [teacher, teacher], xi)
            estimate = sd.monte_carlo_risk(noisy, [teacher, teacher], xi, draws=config.draws,
                                           seed=config.seed + len(checks) + 1)
            checks.append(dict(xi=xi, exact=exact.total, bias=exact.bias, variance=exact.variance,
                               monte_carlo=estimate.mean, standard_error=estimate.standard_error,
                               z=(estimate.mean - exact.total) / estimate.standard_error))
        b.append(dict(sigma=sigma, risk=quadratic.risk(weights).tolist(), onehot=float(quadratic.risk(0.0)),
                      optimum=quadratic.optimum(), optimal_risk=float(quadratic.risk(quadratic.optimum())),
                      monte_carlo=checks))

    rounds = list(range(config.max_rounds + 1))
    noisy = model.with_noise(config.rounds_noise**2)
    pareek_d = max(config.pareek_dimensions)
    pareek = _pareek(pareek_d, config.pareek_snr)
    c = {}
    for family in FAMILIES:
        planted = [sd.optimal_rounds(noisy, family, r) for r in rounds]
        construction = [sd.optimal_rounds(pareek, family, r) for r in range(pareek_d + 1)]
        c[family] = dict(planted=[o.risk for o in planted], parameters=[o.parameter for o in planted],
                         weights=[o.weights.teacher_weights.tolist() for o in planted],
                         construction=[o.risk for o in construction])

    d = {family: [] for family in FAMILIES}
    oracle_gap = []
    for dim in config.pareek_dimensions:
        instance = _pareek(dim, config.pareek_snr)
        oracle = _oracle(instance)
        for family in FAMILIES:
            one, many = sd.optimal_rounds(instance, family, 1), sd.optimal_rounds(instance, family, dim)
            d[family].append(dict(d=dim, one_round=one.risk, d_rounds=many.risk, factor=one.risk / many.risk))
            oracle_gap.append(abs(many.risk / oracle - 1.0))

    lam = model.spectrum.eigenvalues
    strength, xi = config.strength, config.borup_weight
    chain = sd.borup_andersen_rounds(strength, xi, config.borup_rounds)
    limit = sd.borup_andersen_limit(strength, xi, eigenvalues=lam)
    h = th.ridge(strength)(lam)
    identity = max(float(np.max(np.abs(chain[j](lam) - limit(lam) - (xi * h) ** j * (h - limit(lam)))))
                   for j in range(0, config.borup_rounds + 1, max(1, config.borup_rounds // 20)))
    borup = dict(strength=strength, teacher_weight=xi, rounds=config.borup_rounds, limit=repr(limit),
                 rate=sd.borup_andersen_rate(lam, strength, xi),
                 limit_error=float(np.max(np.abs(chain[-1](lam) - limit(lam)))), identity_error=identity,
                 optimal_ridge=c["ridge"]["parameters"][0])
    return dict(config=asdict(config), settings=dict(n_train=config.n_train, dimension=config.dimension,
                                                     lambda_max=float(lam[0]), readout=model.readout),
                a=a, b=b, c=dict(rounds=rounds, pareek_d=pareek_d, **c), d=d, oracle_gap=max(oracle_gap),
                borup=borup)


# --------------------------------------------------------------------------------------------- plot
def plot(data: dict):
    """Four panels; returns a matplotlib Figure."""
    import matplotlib.pyplot as plt

    from .style import use

    use()
    config = data["config"]
    colours = dict(ridge="#1f77b4", flow="#d62728", gd="#2ca02c")
    styles = dict(ridge=("o", "-"), flow=("s", "--"), gd=("^", ":"))
    figure, axes = plt.subplots(2, 2, figsize=(9.0, 6.6), layout="constrained")
    ax = axes[0, 0]
    for family, entry in data["a"].items():
        ax.plot(config["noise_levels"], entry["optimum"], color=colours[family], label=f"{family} teacher")
        if entry["crossing_sigma"] is not None:
            ax.axvline(entry["crossing_sigma"], color=colours[family], ls=":", lw=0.9)
    ax.axhline(1.0, color="0.4", lw=0.8, ls="--")
    ax.set(xscale="log", xlabel="label-noise level σ", ylabel="optimal teacher weight ξ*",
           title="(a) ξ* against noise (dotted: ξ* = 1)")
    ax.legend()
    ax = axes[0, 1]
    for k, entry in enumerate(data["b"]):
        shade = plt.cm.Blues(0.45 + 0.25 * k)
        relative = np.asarray(entry["risk"]) / entry["onehot"]
        ax.plot(config["landscape_weights"], relative, color=shade, label=f"σ = {entry['sigma']:g}")
        ax.plot(entry["optimum"], entry["optimal_risk"] / entry["onehot"], "*", color=shade, ms=8)
        checks = entry["monte_carlo"]
        ax.errorbar([m["xi"] for m in checks], [m["monte_carlo"] / entry["onehot"] for m in checks],
                    yerr=[2 * m["standard_error"] / entry["onehot"] for m in checks], fmt="o", ms=3, mfc="white",
                    color=shade, capsize=2)
    ax.set(xlabel="teacher weight ξ", ylabel="risk / one-hot risk", ylim=(0, None),
           title="(b) risk over ξ, ridge teacher (o: Monte Carlo ±2 s.e.)")
    ax.legend()
    ax = axes[1, 0]
    for family in FAMILIES:
        entry = data["c"][family]
        planted = np.asarray(entry["planted"])
        construction = np.asarray(entry["construction"])
        ax.plot(data["c"]["rounds"], planted / planted[0], "o-", ms=3, color=colours[family], label=f"{family}")
        ax.plot(range(len(construction)), construction / construction[0], "s--", ms=3, color=colours[family])
    ax.set(yscale="log", xlabel="rounds r (students after the teacher)", ylabel="optimal risk / r = 0",
           title=f"(c) rounds: planted σ = {config['rounds_noise']:g} (solid), construction d = {data['c']['pareek_d']} (dashed)")
    ax.legend()
    ax = axes[1, 1]
    dims = config["pareek_dimensions"]
    ax.plot(dims, dims, color="0.4", ls="--", lw=0.8, label="factor d")
    for family in FAMILIES:
        marker, line = styles[family]
        ax.plot(dims, [e["factor"] for e in data["d"][family]], marker=marker, ls=line, ms=4, mfc="none",
                color=colours[family], label=family)
    ax.set(xlabel="dimension d", ylabel="optimal 1-round risk / optimal d-round risk",
           title=f"(d) Pareek et al.'s construction, snr {config['pareek_snr']:g}")
    ax.legend()
    figure.suptitle(f"planted linear model n={config['n_train']}, p={config['dimension']}, population risk; "
                    f"c={config['strength']:g}", fontsize=9)
    return figure


# --------------------------------------------------------------------------------------------- claims
def claims(data: dict) -> list:
    """Monte Carlo agreement, ξ* > 1 at high noise per teacher, Borup & Andersen's limit, the factor d, the oracle."""
    config = data["config"]
    setting = f"planted linear model n={config['n_train']}, p={config['dimension']}, c={config['strength']:g}"
    z = [m["z"] for entry in data["b"] for m in entry["monte_carlo"]]
    rows = [Claim(
        claim="closed form vs Monte Carlo", setting=f"{setting}, ridge self-distillation, {config['draws']} draws",
        statement="the exact risk equals the mean risk of chains trained on noisy labels",
        measured=f"max |exact − MC| / s.e. = {np.max(np.abs(z)):.2f} over {len(z)} (σ, ξ) points",
        evidence=Estimate(float(np.max(np.abs(z)))), criterion=less_than(5.0),
        criterion_text="within 5 standard errors everywhere")]
    top = float(config["noise_levels"][-1])
    for family, entry in data["a"].items():
        crossing = entry["crossing_sigma"]
        rows.append(Claim(
            claim=f"Das & Sanghavi ξ* > 1 ({family})", setting=f"{setting}, {entry['filter']} teacher and student",
            statement="under high label noise the optimal teacher weight exceeds 1",
            measured=(f"ξ* = {entry['optimum'][0]:.3f} at σ = {config['noise_levels'][0]:g}, {entry['optimum'][-1]:.3f} "
                      f"at σ = {top:g}; crosses 1 at σ = " + ("never" if crossing is None else f"{crossing:.4g}")
                      + f"; limit {entry['limit']:.3f}"),
            evidence=Exact(entry["optimum"][-1] - 1.0, 1e-9), criterion=greater_than(0.0),
            criterion_text=f"ξ*(σ = {top:g}) > 1"))
    borup = data["borup"]
    rows.append(Claim(
        claim="Borup & Andersen limit", setting=f"{setting}, ξ = {borup['teacher_weight']:g}, {borup['rounds']} rounds",
        statement="infinitely many weighted ridge rounds equal ridge with strength c/(1 − ξ)",
        measured=(f"max |G_r − {borup['limit']}| = {borup['limit_error']:.2e}; max error of G_j − G_∞ = "
                  f"(ξh)^j (G_0 − G_∞) {borup['identity_error']:.2e} (contraction {borup['rate']:.3f})"),
        evidence=(Exact(borup["limit_error"], 0.0), Exact(borup["identity_error"], 0.0)),
        criterion=(at_most(1e-12), at_most(1e-12)), criterion_text="both ≤ 1e-12"))
    factors = {family: [e["factor"] / e["d"] for e in entries] for family, entries in data["d"].items()}
    largest = {family: data["d"][family][-1] for family in FAMILIES}
    rows.append(Claim(
        claim="Pareek et al. factor d", setting=f"d distinct eigenvalues in [1, 2], β* on the bottom eigenvector, "
                                                f"snr {config['pareek_snr']:g}, d in {list(config['pareek_dimensions'])}",
        statement="r = d rounds beat optimal one-round self-distillation by a factor approaching d",
        measured="; ".join(f"{family}: factor {largest[family]['factor']:.3f} at d = {largest[family]['d']}"
                           for family in FAMILIES) + f" (smallest factor/d {min(min(v) for v in factors.values()):.4f})",
        evidence=Exact(min(min(v) for v in factors.values()), 1e-6), criterion=at_least(0.9),
        criterion_text="factor ≥ 0.9·d for every d and family"))
    rows.append(Claim(
        claim="d rounds reach the oracle", setting="the same construction",
        statement="with distinct eigenvalues, d rounds with optimal weights set every direction's factor freely",
        measured=f"max |risk_d / oracle − 1| = {data['oracle_gap']:.2e}",
        evidence=Exact(data["oracle_gap"], 0.0), criterion=at_most(1e-6), criterion_text="≤ 1e-6"))
    return rows
