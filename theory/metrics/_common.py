"""Checks shared by the metrics of this subpackage (built on ``theory._checks``)."""
from __future__ import annotations

import numpy as np

from .._checks import as_probabilities
from .._checks import check_same_shape


def probability_pair(p_teacher, p_student) -> tuple[np.ndarray, np.ndarray]:
    """Teacher and student class probabilities of the same ``(n, C)`` shape, as float64 arrays."""
    p_teacher = as_probabilities(p_teacher, "p_teacher")
    p_student = as_probabilities(p_student, "p_student")
    check_same_shape(p_teacher, "p_teacher", p_student, "p_student")
    return p_teacher, p_student


def readonly(array, dtype=np.float64) -> np.ndarray:
    """A read-only copy of ``array`` (the arrays of a frozen result stay frozen)."""
    array = np.array(array, dtype=dtype)
    array.setflags(write=False)
    return array
