"""Checks shared by the metrics of this subpackage (built on ``theory._checks``).

Leading batch axes: the agreement metrics (``fidelity``, ``accuracy``, ``nll``, ``expected_calibration_error``,
``classification_report``) accept probabilities ``(..., n, C)``, e.g. a trajectory ``(T, n, C)`` from
``th.predict`` or a simulator, and return one value per leading index (arrays of shape ``(...)``); the teacher
and the student broadcast over their leading axes. The confidence fits (``exaggeration``,
``confidence_diagnostics``) return a rich object per fit and refuse leading axes with a hint to loop.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .._checks import as_probabilities


def _raw(p, name: str) -> np.ndarray:
    """``p`` as a float64 array of at least 2 dimensions (the (n, C) message of ``as_probabilities`` otherwise)."""
    array = np.asarray(p, dtype=np.float64)
    if array.ndim < 2:
        as_probabilities(array, name)  # raises the 2-D message
    return array


def probability_batch(p, name: str = "p") -> np.ndarray:
    """Class probabilities ``(..., n, C)``: every (n, C) slice checked by ``as_probabilities``; float64."""
    array = _raw(p, name)
    if array.ndim == 2:
        return as_probabilities(array, name)
    if array.size == 0:
        raise ValueError(f"{name} must be (..., n, C) probabilities with no empty axis, got shape {array.shape}.")
    as_probabilities(array.reshape(-1, array.shape[-1]), name)
    return array


def _check_classes(p_teacher: np.ndarray, p_student: np.ndarray) -> None:
    """Refuse teacher and student of different (n, C) before any row-sum check, naming both shapes."""
    if p_teacher.shape[-2:] != p_student.shape[-2:]:
        raise ValueError(f"p_student must have the shape of p_teacher, {p_teacher.shape}, got shape "
                         f"{p_student.shape} (the (n, C) axes differ: {p_student.shape[-2:]} against "
                         f"{p_teacher.shape[-2:]}).")


def probability_pair(p_teacher, p_student) -> tuple[np.ndarray, np.ndarray]:
    """Teacher and student class probabilities of the same ``(n, C)`` shape, as float64 arrays.

    Leading axes are refused with a hint to loop (the fits of ``confidence`` return one object per fit).
    """
    teacher, student = _raw(p_teacher, "p_teacher"), _raw(p_student, "p_student")
    for name, array in (("p_teacher", teacher), ("p_student", student)):
        if array.ndim > 2:
            raise ValueError(f"{name} must be 2-D (n, C) here, got shape {array.shape}: a trajectory (T, n, C) "
                             "gives one fit per step, so loop over it, e.g. "
                             "[exaggeration(p_teacher, p) for p in p_student].")
    _check_classes(teacher, student)
    return as_probabilities(teacher, "p_teacher"), as_probabilities(student, "p_student")


def probability_batch_pair(p_teacher, p_student) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Teacher and student ``(..., n, C)`` with the same (n, C) and broadcastable leading axes.

    Returns the two arrays broadcast to the common shape, flattened to ``(B, n, C)``, and the leading shape.
    """
    teacher, student = _raw(p_teacher, "p_teacher"), _raw(p_student, "p_student")
    _check_classes(teacher, student)
    teacher, student = probability_batch(teacher, "p_teacher"), probability_batch(student, "p_student")
    try:
        leading = np.broadcast_shapes(teacher.shape[:-2], student.shape[:-2])
    except ValueError:
        raise ValueError(f"p_student must have leading axes that broadcast with those of p_teacher, got shapes "
                         f"{student.shape} and {teacher.shape}.") from None
    shape = leading + teacher.shape[-2:]
    return (np.broadcast_to(teacher, shape).reshape((-1,) + shape[-2:]),
            np.broadcast_to(student, shape).reshape((-1,) + shape[-2:]), leading)


def per_leading(values: list, leading: tuple):
    """A Python float for no leading axes, else a float64 array of shape ``leading``."""
    if not leading:
        return float(values[0])
    return np.asarray(values, dtype=np.float64).reshape(leading)


def over_leading(p: np.ndarray, compute: Callable[[np.ndarray], float]):
    """``compute`` on every (n, C) slice of ``p (..., n, C)``: a float, or an array of the leading shape."""
    leading = p.shape[:-2]
    flat = p.reshape((-1,) + p.shape[-2:])
    return per_leading([compute(slice_) for slice_ in flat], leading)


def readonly(array, dtype=np.float64) -> np.ndarray:
    """A read-only copy of ``array`` (the arrays of a frozen result stay frozen)."""
    array = np.array(array, dtype=dtype)
    array.setflags(write=False)
    return array
