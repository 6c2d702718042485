"""Figure ``ntk``: the eigenspace analysis with a network's own tangent kernel (docs/maths.md §1, claim C3 on a network).

A ReLU MLP in the NTK parameterisation (``theory.kernels.ntk_mlp``), *centred* so that its initial outputs are zero
(f(x) = f_θ(x) − f_θ₀(x), the usual device that removes the random initial function and makes the
linearised model exactly the Foundation's F_t = g_t(Θ) Y), is trained by full-batch GD on the summed squared
loss ½Σ‖f(x_i) − y_i‖² (float32), step η = 1/λ_max(Θ₀), on a subset of scikit-learn's digits:

(a) spectra of the empirical NTK at initialisation Θ₀, after training Θ_T, and the infinite-width NTK
    Θ_∞ = ``relu_ntk`` (all traced over outputs: (1/C) Σ_c Θ_cc);
(b) the plane (progress on top directions, progress on bottom directions) in Θ_∞'s eigenbasis: the one-hot
    network's actual training outputs (markers) against the closed form from its own Θ₀ (line; the full
    (n·C, n·C) kernel, since at finite width the output blocks are not Θ ⊗ I) and from
    Θ_∞ (dotted); a student network (another initialisation) trained on the teacher network's final
    training outputs, against the closed form g_t(Θ_s) F_T from the student's own Θ₀;
(c) how far the network is from its linearisation over training: ‖F_net − F_lin‖/‖F_lin‖, and the
    relative kernel change ‖Θ_T − Θ₀‖_F/‖Θ₀‖_F.

Above ``scale_above`` training points (``--n-train``): (a) from top-k spectra (figures/scale.py,
docs/scale.md); (b) and (c) need trained networks and say so.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np

import theory as th
from theory import kernels
from theory.evidence import Claim, Estimate, greater_than, less_than
from theory.kernels import empirical_ntk, ntk_mlp
from theory.metrics import matched_deficit

from . import scale

NAME = "ntk"
KIND = "networks"
DESCRIPTION = (
    "eigen analysis with a network's empirical NTK (init / trained) beside the infinite-width NTK: spectra, "
    "network outputs vs the closed form of their NTK, teacher and student"
)


@dataclass(frozen=True)
class Config:
    """Settings of the ``ntk`` figure (times in GD steps at η = 1/λ_max(Θ₀))."""

    dataset: str = "digits"
    n_train: int = 200
    seed: int = 0
    depth: int = 1
    width: int = 1024
    weight_std: float = float(np.sqrt(2.0))
    bias_std: float = 0.1
    top: tuple = (0, 10)
    bottom: tuple = (20, 60)
    horizon: float = 1.0  # train for horizon / (η λ_k) steps, k the middle of the bottom group
    max_steps: int = 4000
    records: int = 20
    # the scale route (figures/scale.py, docs/scale.md): above scale_above training points (None: never), panel
    # (a) from top_k eigenpairs (Θ_∞ as a kernel operator; Θ₀ materialised by the structured empirical NTK
    # while its n × n float64 matrix takes at most empirical_bytes); the networks are not trained
    scale_above: int | None = 8000
    top_k: int = 256
    scale_tol: float = 1e-6
    empirical_bytes: int = 4 * 2**30

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """A smoke-test configuration (seconds)."""
        return replace(cls(n_train=100, width=256, bottom=(15, 40), max_steps=600, records=8), **overrides)


# --------------------------------------------------------------------------------------------- compute
def _train(model, params, x, y, learning_rate, record_steps):
    """Full-batch GD on ½Σ‖f_θ(x) − f_θ₀(x) − y‖² (float32); centred outputs at each of ``record_steps``.

    The driver of ``theory.dynamics`` steps θ ← θ − η ∇_θ L on the parameter pytree in its ambient float32
    precision (``x64=False``) and records the centred outputs at the increasing ``record_steps``.
    """

    def centred(p, shared):
        inputs, initial = shared
        return model.apply(p, inputs) - initial

    def gradient(p, step_index, shared, run):
        return jax.grad(lambda q: 0.5 * jnp.sum((centred(q, shared) - run.targets) ** 2))(p)

    driver = th.dynamics
    recording = driver.simulate(
        driver.descent(gradient), params, (x, model.apply(params, x)), driver.Run(learning_rate, targets=y),
        driver.Schedule.at(record_steps), observe=lambda p, shared, run: centred(p, shared), x64=False)
    return recording.final, recording.records


def _full_ntk(model, params, x):
    """Empirical NTK with its output blocks, (n, n, C, C), as the (n·C, n·C) matrix of the flattened outputs,
    and its trace over outputs divided by C, (n, n)."""
    full = empirical_ntk(model.apply, params, x, trace_outputs=False)
    n, classes = full.shape[0], full.shape[2]
    flat = np.transpose(full, (0, 2, 1, 3)).reshape(n * classes, n * classes)
    return flat, np.trace(full, axis1=2, axis2=3) / classes


def _linearised(spectrum, targets, learning_rate, steps):
    """Closed-form GD of the linearised network on flattened outputs: F_t = g_t(Θ) Y, returned as (T, n, C)."""
    outputs = th.predict(spectrum, targets.reshape(-1), th.gd(learning_rate, steps)).train
    return outputs.reshape((len(steps),) + targets.shape)


def _progress(spectrum, outputs, y, groups):
    return np.stack([spectrum.group_progress(outputs, y, g) for g in groups], axis=-1)


def compute(config: Config = Config()) -> dict:
    """Train the teacher and student networks, compute their NTKs and the closed forms; JSON-ready numbers."""
    data = th.load_dataset(config.dataset, seed=config.seed, n_train=config.n_train)
    if scale.at_scale(data.n_train, config.scale_above):
        return _compute_at_scale(config, data)
    x = data.x_train.astype(np.float32)
    y = data.one_hot_train()
    n = len(y)
    if not (0 <= config.top[0] < config.top[1] <= config.bottom[0] < config.bottom[1] <= n):
        raise ValueError(f"need 0 <= top < bottom <= n = {n}, got top={config.top}, bottom={config.bottom}.")
    groups = [np.arange(*config.top), np.arange(*config.bottom)]
    model = ntk_mlp(config.depth, config.width, config.weight_std, config.bias_std, output_dim=y.shape[1])
    teacher_params = model.init(jax.random.key(config.seed), x[:1])
    student_params = model.init(jax.random.key(config.seed + 1000), x[:1])

    theta_infinite = kernels.relu_ntk(
        x.astype(np.float64), depth=config.depth, weight_std=config.weight_std, bias_std=config.bias_std
    )
    infinite = th.Spectrum.from_kernel(theta_infinite)
    # closed forms use the full (n·C, n·C) kernel: at finite width its output blocks are not Θ ⊗ I
    full_0, theta_0 = _full_ntk(model, teacher_params, x)
    spectrum_0 = th.Spectrum.from_kernel(full_0, psd_rtol=1e-5)  # float32 Jacobians: round-off ~1e-7 relative
    learning_rate = 1.0 / spectrum_0.eigenvalues[0]
    traced_0 = th.Spectrum.from_kernel(theta_0, psd_rtol=1e-5)
    middle = (config.bottom[0] + config.bottom[1]) // 2
    steps = int(min(config.max_steps, round(config.horizon / (learning_rate * traced_0.eigenvalues[middle]))))
    record_steps = np.unique(np.round(np.geomspace(1, steps, config.records)).astype(int))

    teacher_params_final, teacher_outputs = _train(model, teacher_params, x, y, learning_rate, record_steps)
    theta_final = empirical_ntk(model.apply, teacher_params_final, x)
    linear = _linearised(spectrum_0, y, learning_rate, record_steps)
    # the infinite-width model on the same clock: gradient flow for time η·t (η λ ≤ 1, so GD ≈ flow)
    infinite_linear = th.predict(infinite, y, th.flow(record_steps * learning_rate)).train

    targets = teacher_outputs[-1]
    full_student, _ = _full_ntk(model, student_params, x)
    spectrum_student = th.Spectrum.from_kernel(full_student, psd_rtol=1e-5)
    student_rate = 1.0 / spectrum_student.eigenvalues[0]
    _, student_outputs = _train(model, student_params, x, targets, student_rate, record_steps)
    student_linear = _linearised(spectrum_student, targets, student_rate, record_steps)

    onehot_measured = _progress(infinite, teacher_outputs, y, groups)
    student_measured = _progress(infinite, student_outputs, y, groups)

    def relative(a, b):
        return np.linalg.norm(a - b, axis=(-2, -1)) / np.maximum(np.linalg.norm(b, axis=(-2, -1)), 1e-30)

    return dict(
        config=asdict(config), n_train=n, steps=record_steps, learning_rate=learning_rate,
        spectra=dict(init=traced_0.eigenvalues, trained=th.Spectrum.from_kernel(theta_final, psd_rtol=1e-5).eigenvalues,
                     infinite=infinite.eigenvalues),
        onehot=dict(measured=onehot_measured, linear=_progress(infinite, linear, y, groups),
                    infinite=_progress(infinite, infinite_linear, y, groups)),
        student=dict(measured=student_measured, linear=_progress(infinite, student_linear, y, groups),
                     bottom_deficit=matched_deficit(*onehot_measured.T, *student_measured.T)),
        linearisation_error=dict(teacher=relative(teacher_outputs, linear), student=relative(student_outputs, student_linear)),
        kernel_change=float(np.linalg.norm(theta_final - theta_0) / np.linalg.norm(theta_0)),
        init_vs_infinite=float(np.linalg.norm(theta_0 - theta_infinite) / np.linalg.norm(theta_infinite)),
        train_accuracy=float(np.mean(teacher_outputs[-1].argmax(1) == data.y_train)),
    )


def _compute_at_scale(config: Config, data) -> dict:
    """Panel (a) from top-k spectra; (b) and (c) need trained networks and are not run (docs/scale.md)."""
    x = data.x_train.astype(np.float32)
    y = data.one_hot_train()
    n = len(y)
    op = kernels.operator(x.astype(np.float64), kernel="relu_ntk", depth=config.depth, weight_std=config.weight_std,
                          bias_std=config.bias_std)
    infinite, info = scale.top_spectrum(op, config.top_k, config.scale_tol, config.seed)
    spectra = dict(infinite=infinite.eigenvalues, init=[], trained=[])
    notes = ["(b), (c): not run at scale: they train the teacher and student networks full-batch on all n points "
             "and need the full (n·C)² empirical NTK", "trained Θ_T: not run (needs the trained network)"]
    if 8 * n * n <= config.empirical_bytes:  # the traced Θ₀, materialised by the structured (per-layer) NTK
        model = ntk_mlp(config.depth, config.width, config.weight_std, config.bias_std, output_dim=y.shape[1])
        params = model.init(jax.random.key(config.seed), x[:1])
        theta_0 = np.asarray(empirical_ntk(model.apply, params, x), dtype=np.float64)
        init, init_info = scale.top_spectrum(scale.symmetrised(theta_0), config.top_k, max(config.scale_tol, 1e-5),
                                             config.seed)  # float32 network: residuals ~1e-7 relative at best
        del theta_0
        spectra["init"] = init.eigenvalues
        info["init"] = init_info
    else:
        notes.append(f"empirical Θ₀: not run (its {n} × {n} float64 matrix exceeds empirical_bytes = "
                     f"{config.empirical_bytes / 2**30:.3g} GiB; an on-the-fly operator re-evaluates it every product)")
    info.update(bounded="none", not_run="; ".join(notes))
    nan = float("nan")
    return dict(
        config=asdict(config), n_train=n, steps=[], learning_rate=nan, spectra=spectra,
        onehot=dict(measured=[], linear=[], infinite=[]), student=dict(measured=[], linear=[], bottom_deficit=[]),
        linearisation_error=dict(teacher=[nan], student=[nan]), kernel_change=nan, init_vs_infinite=nan,
        train_accuracy=nan, scale=info)


# --------------------------------------------------------------------------------------------- plot
def plot(data: dict):
    """Three panels: spectra, the top/bottom plane, distance from the linearisation."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours
    from .style import use

    use()
    figure, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(10.5, 3.3), layout="constrained")
    config = data["config"]
    spectra = data["spectra"]
    def index(values):
        return np.arange(1, len(values) + 1)

    ax_a.plot(index(spectra["infinite"]), spectra["infinite"], color=colours["theory"], ls=":", label="Θ_∞ (relu_ntk)")
    ax_a.plot(index(spectra["init"]), spectra["init"], color=colours["teacher"], label="empirical Θ₀ (init)")
    ax_a.plot(index(spectra["trained"]), spectra["trained"], color=colours["student"], ls="--",
              label="empirical Θ_T (trained)")
    ax_a.set(xscale="log", yscale="log", xlabel="eigendirection k", ylabel="eigenvalue λ_k",
             title=f"(a) NTK spectra, width {config['width']}")
    ax_a.legend(loc="lower left")

    if "scale" in data:  # the scale route: (a) only, the rest says why not
        info = data["scale"]
        ax_a.set_title(f"(a) top-{info['k']} NTK spectra, width {config['width']}")
        ax_a.text(0.98, 0.98, f"exact: residuals ≤ {info['max_residual_over_lambda_max']:.0e}·λ_max",
                  transform=ax_a.transAxes, ha="right", va="top", fontsize=6)
        from .scale import note_panel

        note_panel(ax_b, "(b) networks vs closed form: not run", info["not_run"].split("; "))
        note_panel(ax_c, "(c) linearisation: not run", [f"n = {data['n_train']}: scale route (n > scale_above = "
                                                        f"{config['scale_above']}); docs/scale.md"])
        return figure
    onehot, student = data["onehot"], data["student"]
    ax_b.plot(*np.asarray(onehot["linear"]).T, color=colours["onehot"], label="closed form, own Θ₀")
    ax_b.plot(*np.asarray(onehot["infinite"]).T, color=colours["onehot"], ls=":", label="closed form, Θ_∞")
    ax_b.plot(*np.asarray(onehot["measured"]).T, "o", mfc="white", mec=colours["onehot"], ms=4, label="one-hot network")
    ax_b.plot(*np.asarray(student["linear"]).T, color=colours["student"], label="student closed form, own Θ₀")
    ax_b.plot(*np.asarray(student["measured"]).T, "s", mfc="white", mec=colours["student"], ms=4, label="student network")
    ax_b.set(yscale="log", ylim=(1e-3, 1.05), xlabel=f"progress, top directions {tuple(config['top'])} of Θ_∞",
             ylabel=f"progress, bottom {tuple(config['bottom'])}", title="(b) networks vs their NTK closed form")
    ax_b.legend(loc="upper left")

    steps = np.asarray(data["steps"])
    ax_c.plot(steps, data["linearisation_error"]["teacher"], color=colours["teacher"], label="teacher network")
    ax_c.plot(steps, data["linearisation_error"]["student"], color=colours["student"], label="student network")
    ax_c.set(xscale="log", yscale="log", xlabel="GD steps", ylabel="‖F_net − F_lin‖ / ‖F_lin‖",
             title=f"(c) from linearisation; ‖Θ_T − Θ₀‖/‖Θ₀‖ = {data['kernel_change']:.1g}")
    ax_c.legend(loc="lower right")
    return figure


# --------------------------------------------------------------------------------------------- claims
def claims(data: dict) -> list:
    """Verdicts supported by the numbers."""
    deficit = np.asarray(data["student"]["bottom_deficit"], dtype=float)
    error = max(np.max(data["linearisation_error"]["teacher"]), np.max(data["linearisation_error"]["student"]))
    setting = f"{data['config']['dataset']} n={data['n_train']}, ReLU MLP depth {data['config']['depth']}, width {data['config']['width']}"
    return [
        Claim(
            claim="C3 (network)",
            setting=setting + ", self-distillation on the teacher network's outputs",
            statement="at equal top progress the student network has less bottom progress than the one-hot network",
            measured=f"deficit min {deficit.min() if deficit.size else float('nan'):.3g}, "
            f"median {np.median(deficit) if deficit.size else float('nan'):.3g} over {deficit.size} matched points",
            evidence=Estimate.minimum(deficit), criterion=greater_than(0.0),  # not run without matched points
            criterion_text="deficit > 0 at every matched point",
        ),
        Claim(
            claim="NTK closed form",
            setting=setting,
            statement="network training outputs follow the closed form of their own empirical NTK",
            measured=f"max relative distance {error:.3g}; kernel change {data['kernel_change']:.3g}",
            evidence=Estimate(error), criterion=less_than(0.05), criterion_text="< 0.05",
        ),
    ]
