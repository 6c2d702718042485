"""The configuration of one training run, its validation, and the hash that names it on disk.

A :class:`TrainConfig` fixes everything that determines a run's weights: data, model, optimiser, schedule, loss
(one-hot, distillation, a switch between them), seed, and which epochs' logits are stored. Its
:meth:`~TrainConfig.hash` is a SHA-256 of the canonical JSON of the fields (a nested teacher config enters as its
own hash), so a run is trained once and reused by every student and figure that asks for the same config.

Loss schedule (epochs are counted from 0; "after k epochs" is the state recorded as epoch k):

* no ``teacher``: the one-hot loss every epoch;
* ``teacher`` and no ``switch_epoch``: the distillation mixture every epoch;
* ``switch_direction="onehot_to_kd"``: one-hot for epochs ``e < s``, the mixture for ``e ≥ s`` (late distillation);
* ``switch_direction="kd_to_onehot"``: the mixture for ``e < s``, one-hot for ``e ≥ s``.

The mixture is ``(1 − ξ) · one-hot loss + ξ · distillation loss`` with ξ = ``teacher_weight``
(see :mod:`theory.nets.losses` for the losses, the temperature τ and the optional τ² factor).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .._checks import check_choice, check_fraction, check_integer, check_real
from ..data.fingerprint import data_fingerprint
from .augment import LEGACY_IMAGE_RECIPE, Augmentation

__all__ = ["TrainConfig", "MODELS", "OPTIMIZERS", "SCHEDULES", "LOSSES", "SWITCH_DIRECTIONS", "FORMAT_VERSION"]

MODELS = ("mlp", "cnn1d", "cnn2d", "resnet20", "resnet56", "mlp_ntk")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine", "step")
LOSSES = ("ce", "mse")
SWITCH_DIRECTIONS = ("onehot_to_kd", "kd_to_onehot")
#: bumped whenever a change of the training code changes what a config produces (old runs are then not reused).
FORMAT_VERSION = 1
#: fields that select the training data: a teacher and its students must agree on them.
DATA_FIELDS = ("dataset", "data_dir", "n_train", "n_test", "data_seed", "data_options", "label_noise",
               "noise_seed")
#: fields that do not change the result and are left out of the hash.
_NOT_HASHED = ("checkpoint_every",)
#: fields added after FORMAT_VERSION 1, with their defaults: they enter the hash only when set to another value,
#: so every config that does not use them keeps the hash (and the stored run) it had before they existed.
_HASHED_WHEN_SET = {"crop_padding": 0, "flip": False, "shift": 0, "shift_mode": "circular", "noise_std": 0.0,
                    "label_smoothing": 0.0}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained network.

    Example:
      >>> teacher = TrainConfig(dataset="mnist1d", epochs=20)
      >>> student = teacher.student(temperature=4.0, seed=1)
      >>> student.teacher.hash() == teacher.hash(), student.hash() != teacher.hash()
      (True, True)

    Attributes (data):
      dataset: a name of :func:`theory.nets.data.dataset_names` (``"digits"``, ``"mnist1d"``, ``"cifar10"``,
        ``"cifar100"``, ``"npz"``, synthetic sets when present).
      data_dir: CIFAR directory or ``.npz`` path (file datasets only).
      n_train, n_test: stratified subset sizes (None: all).
      data_seed: seed of the split / subset.
      data_options: extra loader arguments as ``(name, value)`` pairs, e.g. ``(("num_samples", 8000),)``.
      label_noise, noise_seed: symmetric label-noise rate in ``[0, 1)`` and its seed.

    Attributes (model): ``model`` ∈ :data:`MODELS`; ``width`` (MLP units / CNN channels / ResNet base channels)
      and ``depth`` (MLP hidden layers / CNN conv layers), None = the model's default (see
      :func:`theory.nets.models.make_model`).

    Attributes (optimisation):
      optimizer: ``"sgd"`` (heavy-ball momentum, optional Nesterov) or ``"adam"`` (decoupled weight decay).
      learning_rate: peak learning rate > 0; momentum in ``[0, 1)``; weight_decay ≥ 0 (kernels only, not
        biases or BatchNorm scales; see :func:`theory.nets.optim.make_optimizer`).
      schedule: ``"constant"``, ``"cosine"`` (to 0 at the last step) or ``"step"`` (× ``step_factor`` at each
        epoch of ``step_epochs``), after ``warmup_epochs`` of linear warm-up from 0.
      epochs ≥ 1, batch_size ≥ 1 (the last incomplete batch of each epoch is dropped).

    Attributes (augmentation of the training minibatches; :mod:`theory.nets.augment`, docs/recipes.md; all off
      by default): augment (True: He et al.'s CIFAR recipe, random crop after 4-pixel zero padding and horizontal
      flip, images only; the same as ``crop_padding=4, flip=True``, which is stored as ``augment=True``);
      crop_padding (p ≥ 0, images); flip (images); shift (S ≥ 0, 1-D signals ``(L, C)``) with shift_mode
      ``"circular"`` or ``"zeros"``; noise_std (σ ≥ 0, additive Gaussian noise, any input). With augmentation a
      student's distillation targets are its teacher's logits on the same augmented views.

    Attributes (loss):
      loss: ``"ce"`` (softmax cross-entropy; distillation with soft labels at temperature τ) or ``"mse"``
        (½‖z − target‖² on the logits; distillation regresses on the teacher's logits, τ unused).
      teacher: the teacher's :class:`TrainConfig` (None: one-hot training); it must use the same data.
      teacher_weight: ξ, weight of the distillation loss (1 − ξ on the one-hot loss); any real number.
      temperature: τ > 0. temperature_squared: multiply the distillation loss by τ² (Hinton et al. 2015).
      label_smoothing: ε in [0, 1): the one-hot targets of this run's label term become (1 − ε) · one-hot + ε / C
        (Szegedy et al. 2016); metrics always use the hard labels. A student does not inherit it from its teacher
        unless given (see :meth:`student`).
      switch_epoch, switch_direction: a loss switch after ``switch_epoch`` epochs (see the module docstring),
        ``1 ≤ switch_epoch < epochs``.

    Attributes (run): seed (initialisation, data order, augmentation); record_epochs (epochs whose train and
      test logits are stored; 0 = initialisation; 0 and the last epoch are always stored); checkpoint_every
      (epochs between checkpoints; not part of the hash).
    """

    dataset: str = "mnist1d"
    data_dir: str | None = None
    n_train: int | None = None
    n_test: int | None = None
    data_seed: int = 0
    data_options: tuple = ()
    label_noise: float = 0.0
    noise_seed: int = 0
    model: str = "mlp"
    width: int | None = None
    depth: int | None = None
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_epochs: int = 0
    step_epochs: tuple = ()
    step_factor: float = 0.1
    epochs: int = 30
    batch_size: int = 128
    augment: bool = False
    crop_padding: int = 0
    flip: bool = False
    shift: int = 0
    shift_mode: str = "circular"
    noise_std: float = 0.0
    loss: str = "ce"
    label_smoothing: float = 0.0
    teacher: TrainConfig | None = None
    teacher_weight: float = 1.0
    temperature: float = 1.0
    temperature_squared: bool = False
    switch_epoch: int | None = None
    switch_direction: str = "onehot_to_kd"
    seed: int = 0
    record_epochs: tuple = ()
    checkpoint_every: int = field(default=1, compare=False)

    def __post_init__(self):
        from .data import dataset_names  # late: data imports theory loaders

        known = dataset_names()
        if self.dataset not in known:
            raise ValueError(f"Unknown dataset {self.dataset!r}; known datasets: {', '.join(known)}.")
        if self.dataset in ("cifar10", "cifar100"):
            if self.data_dir is None or not Path(self.data_dir).expanduser().is_dir():
                raise ValueError(f"data_dir {self.data_dir!r} for dataset {self.dataset!r} must be an existing "
                                 "directory holding the python-pickle files (nothing is downloaded).")
        if self.dataset == "npz" and (self.data_dir is None or not Path(self.data_dir).expanduser().is_file()):
            raise ValueError(f"data_dir {self.data_dir!r} for dataset 'npz' must be an existing .npz file.")
        check_integer(self.n_train, "n_train", minimum=1, allow_none=True)
        check_integer(self.n_test, "n_test", minimum=1, allow_none=True)
        check_integer(self.data_seed, "data_seed", minimum=0)
        check_real(self.label_noise, "label_noise", low=0.0, high=1.0, high_open=True)
        check_integer(self.noise_seed, "noise_seed", minimum=0)
        check_choice(self.model, "model", MODELS)
        check_integer(self.width, "width", minimum=1, allow_none=True)
        check_integer(self.depth, "depth", minimum=1, allow_none=True)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_real(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        check_real(self.momentum, "momentum", low=0.0, high=1.0, high_open=True)
        check_real(self.weight_decay, "weight_decay", low=0.0)
        check_choice(self.schedule, "schedule", SCHEDULES)
        epochs = check_integer(self.epochs, "epochs", minimum=1)
        check_integer(self.warmup_epochs, "warmup_epochs", minimum=0, maximum=epochs - 1)
        for e in self.step_epochs:
            check_integer(e, "step_epochs entries", minimum=1, maximum=epochs - 1)
        check_real(self.step_factor, "step_factor", low=0.0, low_open=True)
        check_integer(self.batch_size, "batch_size", minimum=1)
        check_choice(self.loss, "loss", LOSSES)
        check_fraction(self.label_smoothing, "label_smoothing")
        augmentation = Augmentation(crop_padding=self.crop_padding, flip=self.flip, shift=self.shift,
                                    shift_mode=self.shift_mode, noise_std=self.noise_std)  # validates
        if self.augment and (self.crop_padding or self.flip):
            raise ValueError("augment=True already means crop_padding=4, flip=True; give either augment=True or "
                             "crop_padding/flip, not both.")
        if (augmentation.crop_padding, augmentation.flip) == (LEGACY_IMAGE_RECIPE.crop_padding, True):
            # the legacy spelling of the same recipe: one hash for one augmentation
            object.__setattr__(self, "augment", True)
            object.__setattr__(self, "crop_padding", 0)
            object.__setattr__(self, "flip", False)
        check_real(self.teacher_weight, "teacher_weight")
        check_real(self.temperature, "temperature", low=0.0, low_open=True)
        check_choice(self.switch_direction, "switch_direction", SWITCH_DIRECTIONS)
        check_integer(self.seed, "seed", minimum=0)
        check_integer(self.checkpoint_every, "checkpoint_every", minimum=1)
        for e in self.record_epochs:
            check_integer(e, "record_epochs entries", minimum=0, maximum=epochs)
        if self.teacher is not None:
            if not isinstance(self.teacher, TrainConfig):
                raise ValueError(f"teacher must be a TrainConfig or None, got {type(self.teacher).__name__}.")
            differ = [f for f in DATA_FIELDS if getattr(self.teacher, f) != getattr(self, f)]
            if differ:
                raise ValueError(f"teacher and student must train on the same data; they differ in {differ}.")
        if self.switch_epoch is not None:
            if self.teacher is None:
                raise ValueError("switch_epoch needs a teacher (a switch between one-hot and distillation losses).")
            check_integer(self.switch_epoch, "switch_epoch", minimum=1)
            if self.switch_epoch >= epochs:
                raise ValueError(f"switch_epoch must be < epochs = {epochs} (a switch at or after the last epoch "
                                 f"never takes effect), got {self.switch_epoch}.")
        for name in ("data_options", "step_epochs", "record_epochs"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(tuple(v) if isinstance(v, list) else v for v in value))
        for name in ("label_noise", "learning_rate", "momentum", "weight_decay", "step_factor", "teacher_weight",
                     "temperature", "noise_std", "label_smoothing"):  # 1 and 1.0 must hash alike
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "step_epochs", tuple(sorted(set(self.step_epochs))))
        object.__setattr__(self, "record_epochs", tuple(sorted(set(self.record_epochs) | {0, epochs})))
        object.__setattr__(self, "data_options", tuple(sorted((str(k), v) for k, v in self.data_options)))

    # ------------------------------------------------------------------------------------------ hashing
    def canonical(self) -> dict:
        """JSON-ready dict of the run's identity: the hashed fields, a teacher as ``{"hash": …}``, and for a
        dataset read from files the content fingerprint of those files (``"data_fingerprint"``).

        A generated dataset (embedded or synthetic) is identified by its fields (``dataset``, ``n_train``,
        ``data_seed``, ``data_options``, ``label_noise``, ``noise_seed``), all hashed; a file dataset also by the
        SHA-256 of the bytes its reader reads (:func:`theory.data.fingerprint.data_fingerprint`, cached per
        file), so replacing the files in the same ``data_dir`` gives another run.

        Raises:
          ValueError: a data file is missing or unreadable (the message names it).
        """
        result = {"format": FORMAT_VERSION}
        for f in dataclasses.fields(self):
            if f.name in _NOT_HASHED:
                continue
            if f.name in _HASHED_WHEN_SET and getattr(self, f.name) == _HASHED_WHEN_SET[f.name]:
                continue
            value = getattr(self, f.name)
            if isinstance(value, TrainConfig):
                value = {"hash": value.hash()}
            result[f.name] = _jsonable(value)
        fingerprint = self.data_fingerprint()
        if fingerprint is not None:  # only file datasets: the hashes of generated datasets' runs are unchanged
            result["data_fingerprint"] = fingerprint
        return result

    def augmentation(self) -> Augmentation:
        """The :class:`~theory.nets.augment.Augmentation` of the training minibatches (``augment=True``: crop
        after 4-pixel padding and flip).

        Example:
          >>> TrainConfig(dataset="mnist1d", shift=3, noise_std=0.1).augmentation().describe()
          'shift3c+noise0.1'
        """
        crop, flip = (LEGACY_IMAGE_RECIPE.crop_padding, True) if self.augment else (self.crop_padding, self.flip)
        return Augmentation(crop_padding=crop, flip=flip, shift=self.shift, shift_mode=self.shift_mode,
                            noise_std=self.noise_std)

    def data_fingerprint(self) -> str | None:
        """SHA-256 of the data files a file dataset reads (None for generated datasets); see :meth:`canonical`."""
        from .data import FILE_DATASETS  # late, as in __post_init__

        if self.dataset not in FILE_DATASETS:
            return None
        return data_fingerprint(self.dataset, self.data_dir)

    def hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical JSON (sorted keys; see :meth:`canonical`)."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        """Full JSON-ready dict, the teacher config nested (inverse: :meth:`from_dict`)."""
        result = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            result[f.name] = value.to_dict() if isinstance(value, TrainConfig) else _jsonable(value)
        return result

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Rebuilds a config written by :meth:`to_dict` (lists back to tuples)."""
        values = dict(values)
        if values.get("teacher") is not None:
            values["teacher"] = cls.from_dict(values["teacher"])
        for name in ("data_options", "step_epochs", "record_epochs"):
            values[name] = tuple(tuple(v) if isinstance(v, list) else v for v in values.get(name, ()))
        return cls(**values)

    # ------------------------------------------------------------------------------------------ helpers
    def student(self, **changes) -> TrainConfig:
        """A student of this config: same data and (by default) everything else, ``teacher=self``.

        Self-distillation keeps the architecture; pass ``model=…`` (and ``width``/``depth``) for a different
        student. The student's record_epochs / switch / label smoothing default to none unless given.
        """
        base = dict(teacher=self, record_epochs=(), switch_epoch=None, label_smoothing=0.0)
        base.update(changes)
        return dataclasses.replace(self, **base)

    def kd_weight(self, epoch: int) -> float:
        """ξ in effect during epoch ``epoch`` (0-based): ``teacher_weight`` where distillation is on, else 0."""
        if self.teacher is None:
            return 0.0
        if self.switch_epoch is None:
            return self.teacher_weight
        after = epoch >= self.switch_epoch
        on = after if self.switch_direction == "onehot_to_kd" else not after
        return self.teacher_weight if on else 0.0

    def describe(self) -> str:
        """A one-line summary for progress bars and tables."""
        role = "one-hot" if self.teacher is None else (
            f"KD ξ={self.teacher_weight:g} τ={self.temperature:g}"
            + (f" switch {self.switch_direction}@{self.switch_epoch}" if self.switch_epoch else ""))
        noise = f" noise={self.label_noise:g}" if self.label_noise else ""
        augmentation = self.augmentation().describe()
        extra = (f" aug={augmentation}" if augmentation else "") + (
            f" ls={self.label_smoothing:g}" if self.label_smoothing else "")
        return f"{self.dataset}{noise} {self.model} {role}{extra} {self.epochs}ep"


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
