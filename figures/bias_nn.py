"""Figure ``bias-nn``: the exaggerated implicit bias in trained networks (claim C3), with the linearised closed form.

A one-hot network and its distilled student *from the same initialisation and data order* (the theory's setting:
both start from F₀; the teacher is the one-hot network itself after its last epoch). At log-spaced epochs the
training logits are projected on the eigendirections of a kernel on the training points
(:mod:`theory.nets.tracking`): the network's empirical NTK at initialisation (traced over outputs), and an RBF
kernel on the inputs. Progress of a group of directions G towards the one-hot labels Y (logits and labels
centred over classes) is the shared :func:`theory.group_progress`.

(a) top- and bottom-group progress against the epoch; (b, c) the plane (top progress, bottom progress) for the
two kernels. C3: at equal top progress the student has less bottom progress (a positive matched deficit).

Closed form (squared loss only, where the linearised network is kernel regression): gradient flow on the NTK,
c_G(t) = Σ_G e_k (1 − e^{−λ_k t}) / Σ_G e_k with e_k the energy of Y − F₀ on u_k, and for the student
c_k = (1 − e^{−λ_k t̃})(1 − e^{−λ_k T}). Time is read off the optimiser: with step sizes η_j, batch B and
momentum μ, one epoch of SGD moves the outputs like gradient flow on the summed loss for Δt = Σ_j η_j /
(S·B·(1 − μ)) over its S steps, so t(e) has no free parameter. With cross-entropy there is no closed form and
only the networks are shown.

Above ``scale_above`` training points (``--n-train``) no network is trained: top-k kernel spectra on all n
points and the linearised closed form only (figures/scale.py, docs/scale.md).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

import theory as th
from theory.evidence import Claim, Estimate, at_least, less_than
from theory.metrics import filter_group_progress
from theory.metrics import matched_deficit
from theory.nets import DEFAULT_RUN_DIR, analysis, data_for, experiment, make_schedule, tracking, train
from theory.nets.experiment import Setting

from . import scale

NAME = "bias-nn"
KIND = "networks"
DESCRIPTION = "networks: top vs bottom eigen progress (NTK and input kernel), one-hot vs KD, linearised closed form (C3)"


@dataclass(frozen=True)
class Config:
    """Settings of the ``bias-nn`` figure: the teacher–student ``setting`` and the figure's own fields.

    The one-hot network is the teacher itself, so the setting must start the student from the teacher's
    initialisation (``same_init=True``) and give both the same budget (``teacher_epochs == student_epochs``,
    :attr:`epochs`); ``record`` epochs are tracked on ``track_points`` training points.

    Defaults: the lazy regime, where the linearised closed form applies — squared loss, plain SGD (no momentum,
    which makes the top directions overshoot and oscillate), η·λ_max(Θ)/n ≈ 0.9 — on digits, where this
    one-hidden-layer MLP still trains well (test accuracy 0.969 one-hot, 0.956 student). On MNIST-1D the same
    regime leaves the MLP at 0.33 test accuracy; C3 held there too (and with cross-entropy, with or without
    momentum, on the NTK eigendirections: see the README section).
    """

    setting: Setting = Setting(dataset="digits", model="mlp", width=512, depth=1, n_train=1000, learning_rate=0.01,
                               momentum=0.0, batch_size=32, loss="mse", teacher_epochs=100, student_epochs=100,
                               same_init=True, record=20, track_points=1000)
    seed: int = 0
    kernels: tuple = ("ntk", "rbf")
    # eigen-index ranges [start, stop), chosen so that the top group is fit during training (not at once) and the
    # bottom group only in part (progress ≈ 0.3 for the one-hot network at the last epoch)
    top: tuple = (30, 100)
    bottom: tuple = (200, 500)
    run_dir: str = DEFAULT_RUN_DIR  # paper_figs.py sets --runs (default <out>/runs)
    progress: bool = True
    # the scale route (figures/scale.py, docs/scale.md): above scale_above training points (None: never) the
    # networks are not trained; top_k eigenpairs of the kernels on all n training points (the NTK at
    # initialisation while its n × n float64 matrix takes at most empirical_bytes) and the linearised closed form
    scale_above: int | None = 8000
    top_k: int = 512
    scale_tol: float = 1e-6
    empirical_bytes: int = 4 * 2**30

    def __post_init__(self):
        if not isinstance(self.setting, Setting):
            raise ValueError(f"setting must be a theory.nets.experiment.Setting, got {type(self.setting).__name__}.")
        if not self.setting.same_init or self.setting.teacher_epochs != self.setting.student_epochs:
            raise ValueError("setting must have same_init=True and teacher_epochs == student_epochs (the one-hot "
                             f"network is the teacher), got same_init={self.setting.same_init}, teacher_epochs="
                             f"{self.setting.teacher_epochs}, student_epochs={self.setting.student_epochs}.")

    @property
    def epochs(self) -> int:
        """The budget of the one-hot network (= teacher) and of the student."""
        return self.setting.student_epochs

    @classmethod
    def quick(cls, **overrides) -> "Config":
        """Digits, 300 points, a narrow MLP, 40 epochs of batch 32 (seconds)."""
        setting = replace(cls.setting, width=128, n_train=300, teacher_epochs=40, student_epochs=40, batch_size=32,
                          record=8, track_points=300)
        return replace(cls(setting=setting, top=(5, 20), bottom=(40, 120)), **overrides)


# --------------------------------------------------------------------------------------------- compute
def _flow_times(config, epochs) -> np.ndarray:
    """t(e) = Σ_{steps j < e·S} η_j / (S · B · (1 − μ)): SGD epochs as gradient-flow time on the summed loss."""
    data = data_for(config)
    batch = min(config.batch_size, data.n_train)
    steps = max(1, data.n_train // batch)
    rates = np.asarray(make_schedule(config, steps)(np.arange(config.epochs * steps)), dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(rates)])
    momentum = config.momentum if config.optimizer == "sgd" else 0.0
    return cumulative[np.asarray(epochs) * steps] / (steps * batch * (1.0 - momentum))



def _closed_forms(onehot_config, epochs: int, dense, spectrum, targets, initial, groups) -> dict:
    """The linearised one-hot network and its student at the epochs ``dense``, as flow times of the one-hot
    network's own learning-rate schedule (the teacher trained for ``epochs``)."""
    times = _flow_times(onehot_config, dense)
    teacher_time = float(_flow_times(onehot_config, [epochs])[0])
    return dict(epochs=dense, times=times, teacher_time=teacher_time,
                onehot=_closed_form(spectrum, targets, initial, groups, times),
                student=_closed_form(spectrum, targets, initial, groups, times, teacher_time))


def _closed_form(spectrum, targets, initial, groups, times, teacher_time=None):
    """Energy-weighted group progress of gradient flow (times ``t``), or of the student flow(t)·flow(T)."""
    energy = np.sum(spectrum.coordinates(targets - initial) ** 2, axis=-1)
    flt = th.flow(np.asarray(times, dtype=np.float64))
    if teacher_time is not None:
        flt = flt * th.flow(teacher_time)
    return filter_group_progress(flt, spectrum.eigenvalues, energy,
                                 {name: np.arange(*g) for name, g in groups.items()})


def compute(config: Config = Config()) -> dict:
    """Trains or reuses the one-hot network and its student; progress curves, deficits and closed forms."""
    setting = config.setting
    onehot_config = experiment.teacher_config(setting, config.seed)
    student_config = experiment.student_config(setting, config.seed)
    if scale.at_scale(data_for(onehot_config).n_train, config.scale_above):
        return _compute_at_scale(config, onehot_config)
    onehot = train(onehot_config, config.run_dir, progress=config.progress)
    student = train(student_config, config.run_dir, progress=config.progress)
    data = data_for(onehot_config)
    index = tracking.tracked_points(data, setting.track_points)
    if not config.top[1] <= config.bottom[0] < config.bottom[1] <= len(index):
        raise ValueError(f"need top < bottom <= track points {len(index)}, got top={config.top}, bottom={config.bottom}.")
    groups = {"top": tuple(config.top), "bottom": tuple(config.bottom)}
    result = dict(config=asdict(config), hashes={"onehot": onehot.hash, "student": student.hash},
                  accuracy={"onehot": analysis.accuracy(onehot, "test"), "student": analysis.accuracy(student, "test")},
                  tracked_points=len(index), kernels={})
    for kernel in config.kernels:
        spectrum = (tracking.ntk_spectrum(onehot_config, index) if kernel == "ntk"
                    else tracking.input_spectrum(data, index, kernel))
        curves = {role: tracking.progress_curves(run, spectrum, index, groups)
                  for role, run in (("onehot", onehot), ("student", student))}
        deficit = matched_deficit(curves["onehot"]["top"][1:], curves["onehot"]["bottom"][1:],
                                  curves["student"]["top"][1:], curves["student"]["bottom"][1:])
        entry = dict(curves=curves, deficit=deficit, eigenvalues=spectrum.eigenvalues[: config.bottom[1]])
        if kernel == "ntk" and setting.loss == "mse":
            centred = lambda a: a - a.mean(axis=-1, keepdims=True)  # noqa: E731
            targets = centred(data.one_hot_train()[index])
            initial = centred(onehot.logits_at(0, "train")[index].astype(np.float64))
            epochs = curves["onehot"]["epochs"]
            dense = np.unique(np.concatenate([np.linspace(0, config.epochs, 200).round().astype(int), epochs]))
            entry["closed_form"] = _closed_forms(onehot_config, config.epochs, dense, spectrum, targets, initial, groups)
            at_records = np.searchsorted(dense, epochs)
            entry["closed_form_max_abs"] = float(max(
                np.max(np.abs(entry["closed_form"][role][g][at_records] - curves[role][g]))
                for role in ("onehot", "student") for g in ("top", "bottom")))
        result["kernels"][kernel] = entry
    return result


def _compute_at_scale(config: Config, onehot_config) -> dict:
    """No training: top-k spectra on all n training points and the linearised closed form (docs/scale.md)."""
    import jax.numpy as jnp

    from theory.kernels import empirical_ntk, operator
    from theory.nets import initial_variables, model_for

    data = data_for(onehot_config)
    x, n = data.flat_train(), data.n_train
    groups = {"top": tuple(config.top), "bottom": tuple(config.bottom)}
    model, variables = model_for(onehot_config, data), initial_variables(onehot_config, data)
    shape = data.input_shape

    def apply_fn(params, inputs):
        return model.apply({"params": params, "batch_stats": variables["batch_stats"]},
                           inputs.reshape((inputs.shape[0], *shape)), train=False)

    centred = lambda a: a - a.mean(axis=-1, keepdims=True)  # noqa: E731
    targets = centred(data.one_hot_train())
    initial = centred(np.asarray(apply_fn(variables["params"], jnp.asarray(x, jnp.float32)), dtype=np.float64))
    notes = ["networks: not trained at scale (n > scale_above); the curves are the linearised closed form"]
    result = dict(config=asdict(config), hashes={}, accuracy={"onehot": float("nan"), "student": float("nan")},
                  tracked_points=n, kernels={}, scale={})
    for kernel in config.kernels:
        if kernel == "ntk":
            if 8 * n * n > config.empirical_bytes:
                notes.append(f"ntk: not run (the {n} × {n} float64 NTK exceeds empirical_bytes)")
                continue
            theta = np.asarray(empirical_ntk(apply_fn, variables["params"], x.astype(np.float32)), dtype=np.float64)
            spectrum, info = scale.top_spectrum(scale.symmetrised(theta), config.top_k, max(config.scale_tol, 1e-5),
                                                config.seed)  # float32 network: residuals ~1e-7 at best
            del theta
        else:
            op = operator(x, kernel=kernel, **scale.kernel_parameters(kernel, x, config.seed))
            spectrum, info = scale.top_spectrum(op, config.top_k, config.scale_tol, config.seed)
        if config.bottom[1] > spectrum.eigenvalues.size:
            raise ValueError(f"at scale the groups must lie in the top_k = {spectrum.eigenvalues.size} directions, "
                             f"got bottom={config.bottom}.")
        entry = dict(curves={}, deficit=[], eigenvalues=spectrum.eigenvalues[: config.bottom[1]])
        if kernel == "ntk" and config.setting.loss == "mse":
            dense = np.linspace(0, config.epochs, 200).round().astype(int)
            entry["closed_form"] = _closed_forms(onehot_config, config.epochs, dense, spectrum, targets, initial, groups)
        result["kernels"][kernel] = entry
        result["scale"][kernel] = info
    result["scale"]["not_run"] = "; ".join(notes)
    return result


# --------------------------------------------------------------------------------------------- plot
def plot(data: dict):
    """(a) progress against epochs (NTK); one plane (top vs bottom progress) per kernel."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours
    from .style import use

    use()
    if "scale" in data:
        return _plot_at_scale(data)
    kernels = list(data["kernels"])
    figure, axes = plt.subplots(1, 1 + len(kernels), figsize=(3.5 * (1 + len(kernels)), 3.3), layout="constrained")
    config = data["config"]
    first = data["kernels"][kernels[0]]
    role_colour = {"onehot": colours["onehot"], "student": colours["student"]}
    for role in ("onehot", "student"):
        curves = first["curves"][role]
        for group, style in (("top", "o-"), ("bottom", "s--")):
            axes[0].plot(curves["epochs"], curves[group], style, ms=3, color=role_colour[role],
                         label=f"{role} network, {group}")
        if "closed_form" in first:
            closed = first["closed_form"]
            for group in ("top", "bottom"):
                axes[0].plot(closed["epochs"], closed[role][group], color=role_colour[role], lw=0.7, alpha=0.6)
    axes[0].set(xscale="symlog", xlabel="epoch", ylabel="group progress",
                title=f"(a) {kernels[0]} kernel: progress" + (" (thin: closed form)" if "closed_form" in first else ""))
    axes[0].legend(loc="upper left", fontsize=6)
    for ax, kernel in zip(axes[1:], kernels):
        entry = data["kernels"][kernel]
        for role in ("onehot", "student"):
            curves = entry["curves"][role]
            ax.plot(curves["top"], curves["bottom"], "o-", ms=3, color=role_colour[role], label=f"{role} network")
            if "closed_form" in entry:
                closed = entry["closed_form"][role]
                ax.plot(closed["top"], closed["bottom"], color=role_colour[role], lw=0.8, ls=":",
                        label=f"{role}, linearised (flow)")
        deficits = np.asarray(entry["deficit"], dtype=float)
        ax.set(xlabel=f"progress, top {tuple(config['top'])}", ylabel=f"progress, bottom {tuple(config['bottom'])}",
               title=f"{kernel}: deficit > 0 at {np.mean(deficits > 0) if deficits.size else float('nan'):.0%}")
        ax.legend(loc="upper left", fontsize=6)
    accuracy, setting = data["accuracy"], config["setting"]
    figure.suptitle(f"{setting['dataset']}, {setting['model']} {setting['width']}×{setting['depth']}, "
                    f"{setting['loss']} loss, noise {setting['label_noise']:g}, {data['tracked_points']} tracked points; "
                    f"test accuracy one-hot {accuracy['onehot']:.3f}, student {accuracy['student']:.3f}", fontsize=9)
    return figure


def _plot_at_scale(data: dict):
    """(a) top-k spectra; (b) the linearised closed form in the plane; (c) what was not run."""
    import matplotlib.pyplot as plt

    from .style import ROLE_COLOURS as colours

    figure, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(10.5, 3.3), layout="constrained")
    config = data["config"]
    for kernel, entry in data["kernels"].items():
        values = np.asarray(entry["eigenvalues"], dtype=float)
        ax_a.plot(np.arange(1, values.size + 1), values / values[0], label=f"{kernel} (top-k, exact)")
        if "closed_form" in entry:
            for role in ("onehot", "student"):
                closed = entry["closed_form"][role]
                ax_b.plot(closed["top"], closed["bottom"], color=colours[role], label=f"{role}, linearised (flow)")
    ax_a.set(xscale="log", yscale="log", xlabel="eigendirection k", ylabel="λ_k / λ_1", title="(a) kernel spectra")
    ax_a.legend(loc="lower left", fontsize=6)
    ax_b.set(xlabel=f"progress, top {tuple(config['top'])}", ylabel=f"progress, bottom {tuple(config['bottom'])}",
             title="(b) NTK closed form (exact, top-k)")
    if ax_b.lines:
        ax_b.legend(loc="upper left", fontsize=6)
    scale.note_panel(ax_c, "(c) networks: not run", data["scale"]["not_run"].split("; "))
    setting = config["setting"]
    figure.suptitle(f"{setting['dataset']}, n={data['tracked_points']}: scale route (top-{config['top_k']} "
                    "eigenpairs; docs/scale.md)", fontsize=9)
    return figure


# --------------------------------------------------------------------------------------------- claims
def claims(data: dict) -> list:
    """C3 per kernel (matched deficit positive at ≥ 80 % of points), and the linearised closed form's accuracy."""
    config = data["config"]["setting"]
    setting = f"{config['dataset']}, {config['model']}, {config['loss']} loss, noise {config['label_noise']:g}"
    result = []
    for kernel, entry in data["kernels"].items():
        deficits = np.asarray(entry["deficit"], dtype=float)
        share = Estimate.share(deficits > 0)  # not run without matched points
        result.append(Claim(
            claim=f"C3 ({kernel})", setting=setting,
            statement="at equal top-direction progress the student has less bottom-direction progress"
            if deficits.size else "student behind on bottom directions",
            measured=f"deficit > 0 at {share.value:.0%} of {deficits.size} matched epochs (median "
                     f"{np.median(deficits):+.3g})" if deficits.size
            else "no student point within the one-hot network's top-progress range",
            evidence=share, criterion=at_least(0.8), criterion_text="≥ 80 % of matched points with deficit > 0"))
        if "closed_form_max_abs" in entry:
            gap = entry["closed_form_max_abs"]
            result.append(Claim(
                claim="linearised", setting=setting + f", {kernel} kernel",
                statement="gradient flow on the NTK at initialisation predicts the networks' group progress",
                measured=f"max |closed form − network| = {gap:.3f} over recorded epochs, both models and groups",
                evidence=Estimate(gap), criterion=less_than(0.1), criterion_text="< 0.1"))
    return result
