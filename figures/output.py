"""Writing figure results: atomic files (a crash never leaves a half-written result) and JSON of numpy data."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from theory._io import atomic_write


def to_jsonable(value):
    """Convert numpy arrays / scalars (nested in dicts, lists, tuples) to plain JSON types; NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if np.isfinite(value) else None
    return value


def save_json(data, path) -> Path:
    """Write ``data`` as indented JSON atomically."""

    def write(temporary):
        with open(temporary, "w") as handle:
            json.dump(to_jsonable(data), handle, indent=1, allow_nan=False)

    return atomic_write(path, write)


def save_figure(figure, path, **kwargs) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix of ``path``."""
    fmt = Path(path).suffix.lstrip(".")
    return atomic_write(path, lambda temporary: figure.savefig(temporary, format=fmt, **kwargs))
