"""Teacher–student experiments as data: a :class:`Setting` and the :class:`TrainConfig` s it implies.

Shared by the sweep (:mod:`theory.nets.sweep`) and the network figures, so that they ask the run store for the
same configs and reuse each other's runs. For seed s: the teacher is a one-hot run with seed 100·s; students,
the one-hot *control* (a student without a teacher: same seed, budget and recorded epochs) and switched students
use seed 100·s + 1 (``same_init=False``) or the teacher's seed (``same_init=True``: same initialisation and data
order as the teacher, as in the theory where teacher and student start from the same F₀).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .config import TrainConfig

__all__ = ["Setting", "teacher_config", "student_config", "control_config", "switched_config", "role_configs",
           "track_epochs"]


@dataclass(frozen=True)
class Setting:
    """One teacher–student setting (self-distillation unless ``student_model`` is given).

    ``temperature > 1`` uses the τ² factor (Hinton et al. 2015). ``record`` is the number of log-spaced epochs at
    which students and controls store their logits (for eigen tracking). The student trains on the teacher's
    recipe (optimiser, schedule, augmentation) except where a ``student_…`` field says otherwise;
    ``teacher_label_smoothing`` applies to the teacher only. The fields after ``track_points`` were added later:
    at their defaults the configs (and run hashes) are those of settings that did not have them.
    """

    name: str = "setting"
    dataset: str = "mnist1d"
    data_dir: str | None = None
    model: str = "mlp"
    width: int | None = None
    depth: int | None = None
    n_train: int | None = None
    data_options: tuple = ()
    label_noise: float = 0.0
    weight_decay: float = 0.0
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    schedule: str = "cosine"
    batch_size: int = 128
    loss: str = "ce"
    teacher_epochs: int = 60
    student_epochs: int = 60
    temperature: float = 1.0
    teacher_weight: float = 1.0
    student_model: str | None = None
    same_init: bool = False
    record: int = 12
    track_points: int = 1000
    schedule: str = "cosine"
    warmup_epochs: int = 0
    step_epochs: tuple = ()
    augment: bool = False
    crop_padding: int = 0
    flip: bool = False
    shift: int = 0
    shift_mode: str = "circular"
    noise_std: float = 0.0
    teacher_label_smoothing: float = 0.0
    student_weight_decay: float | None = None
    n_test: int | None = None


def track_epochs(epochs: int, count: int) -> tuple:
    """About ``count`` log-spaced epochs in [1, epochs], with epochs // 2 (0 and the last are always recorded)."""
    if count <= 0:
        return ()
    return tuple(sorted({int(round(e)) for e in np.geomspace(1, epochs, count)} | {max(1, epochs // 2)}))


def teacher_config(setting: Setting, seed: int = 0) -> TrainConfig:
    """The one-hot teacher (seed 100·seed); it records as many epochs as a student when ``same_init``."""
    return TrainConfig(dataset=setting.dataset, data_dir=setting.data_dir, model=setting.model,
                       width=setting.width, depth=setting.depth, n_train=setting.n_train,
                       data_options=setting.data_options, label_noise=setting.label_noise,
                       weight_decay=setting.weight_decay, optimizer=setting.optimizer,
                       learning_rate=setting.learning_rate, momentum=setting.momentum,
                       batch_size=setting.batch_size, loss=setting.loss, epochs=setting.teacher_epochs,
                       seed=100 * seed, n_test=setting.n_test, schedule=setting.schedule,
                       warmup_epochs=setting.warmup_epochs, step_epochs=setting.step_epochs, augment=setting.augment,
                       crop_padding=setting.crop_padding, flip=setting.flip, shift=setting.shift,
                       shift_mode=setting.shift_mode, noise_std=setting.noise_std,
                       label_smoothing=setting.teacher_label_smoothing,
                       record_epochs=track_epochs(setting.teacher_epochs, setting.record) if setting.same_init else ())


def student_config(setting: Setting, seed: int = 0, **changes) -> TrainConfig:
    """The distilled student (recording ``setting.record`` epochs)."""
    teacher = teacher_config(setting, seed)
    values = dict(seed=teacher.seed if setting.same_init else teacher.seed + 1, epochs=setting.student_epochs,
                  record_epochs=track_epochs(setting.student_epochs, setting.record),
                  temperature=setting.temperature, temperature_squared=setting.temperature > 1,
                  teacher_weight=setting.teacher_weight)
    if setting.student_model is not None:
        values.update(model=setting.student_model, width=None, depth=None)
    if setting.student_weight_decay is not None:
        values.update(weight_decay=setting.student_weight_decay)
    if setting.step_epochs and setting.student_epochs != setting.teacher_epochs:  # the same schedule's fractions
        values.update(step_epochs=tuple(max(1, min(setting.student_epochs - 1,
                                                   round(e * setting.student_epochs / setting.teacher_epochs)))
                                        for e in setting.step_epochs))
    if setting.warmup_epochs >= setting.student_epochs:
        values.update(warmup_epochs=setting.student_epochs - 1)
    values.update(changes)
    return teacher.student(**values)


def control_config(setting: Setting, seed: int = 0) -> TrainConfig:
    """The one-hot control: the student's seed, model, budget and recorded epochs, without a teacher."""
    return dataclasses.replace(student_config(setting, seed), teacher=None, teacher_weight=1.0, temperature=1.0,
                               temperature_squared=False)


def switched_config(setting: Setting, seed: int, switch_epoch: int, direction: str = "onehot_to_kd") -> TrainConfig:
    """A student whose loss switches after ``switch_epoch`` epochs (``"onehot_to_kd"`` or ``"kd_to_onehot"``)."""
    return student_config(setting, seed, switch_epoch=switch_epoch, switch_direction=direction, record_epochs=())


def role_configs(setting: Setting, seed: int = 0) -> dict:
    """The three runs of one setting and seed, by role: ``{"teacher", "student", "control"}`` -> TrainConfig."""
    return dict(teacher=teacher_config(setting, seed), student=student_config(setting, seed),
                control=control_config(setting, seed))
