"""The sweep grids: named lists of :class:`~theory.nets.experiment.Setting` (``--grid NAME``)."""
from __future__ import annotations

import dataclasses

from .experiment import Setting

__all__ = ["GRIDS"]

_BASE = Setting("base")


def _vary(**changes):
    name = ", ".join(f"{k}={v}" for k, v in changes.items())
    return dataclasses.replace(_BASE, name=name, **changes)


GRIDS = {
    "quick": [Setting("quick", dataset="digits", width=64, teacher_epochs=8, student_epochs=8, track_points=300)],
    "default": [
        _BASE,
        _vary(teacher_epochs=15), _vary(teacher_epochs=200),
        _vary(student_epochs=15), _vary(student_epochs=200),
        _vary(temperature=2.0), _vary(temperature=4.0), _vary(teacher_weight=0.5),
        _vary(label_noise=0.2), _vary(label_noise=0.3),
        _vary(weight_decay=5e-4), _vary(weight_decay=5e-3),
        _vary(n_train=1000), _vary(data_options=(("num_samples", 10000),)),
        _vary(model="cnn1d"), _vary(model="cnn1d", label_noise=0.2), _vary(model="cnn1d", teacher_epochs=200),
        _vary(loss="mse", learning_rate=0.01),
        _vary(dataset="digits"), _vary(dataset="digits", label_noise=0.3),
        _vary(dataset="digits", teacher_epochs=15), _vary(dataset="digits", model="cnn2d"),
    ],
    # the factors that mattered in "default" (temperature, label noise, architecture), crossed, for 3 seeds
    "focus": [
        _vary(**data, label_noise=noise, temperature=temperature)
        for data in (dict(dataset="mnist1d", model="mlp"), dict(dataset="mnist1d", model="cnn1d"),
                     dict(dataset="digits", model="mlp"))
        for noise in (0.0, 0.2)
        for temperature in (1.0, 2.0, 4.0)
    ],
    # follow-ups of "focus": longer students, a hotter temperature, an under-trained teacher
    "extra": [
        _vary(temperature=4.0, student_epochs=200), _vary(temperature=8.0),
        _vary(model="cnn1d", temperature=2.0, student_epochs=200),
        _vary(model="cnn1d", label_noise=0.2, temperature=2.0, student_epochs=200),
        _vary(model="cnn1d", temperature=2.0, teacher_epochs=15),
        _vary(model="cnn1d", temperature=4.0, learning_rate=0.02),
    ],
}
