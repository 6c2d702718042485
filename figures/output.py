"""Writing figure results: atomic files, a figure's PNG/PDF/JSON replaced as one set, and JSON of numpy data.

A figure's outputs ``<out>/<name>.png``, ``.pdf`` and ``.json`` are written by :func:`save_figure_set`:
both images are rendered to hidden temporaries, their SHA-256 recorded in the JSON (``"files": {"png":
{"name", "sha256"}, "pdf": {...}}``), the JSON written to a temporary, and only then are the three renamed,
PNG, PDF and JSON last (:class:`theory._io.AtomicSet`). If anything fails (computing, plotting, writing, a
rename) the new temporaries are removed and the old three files stay as they were. A reader therefore sees
the old set or the new one; only a process killed between two renames can leave a newer PNG (and PDF) beside
the older JSON, and :func:`stale_files` finds exactly those: the JSON is the commit point and names, by hash,
the images that belong to it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from theory._io import AtomicSet, atomic_write

#: the image formats of a figure, in the order they are renamed (the JSON comes after them).
IMAGE_FORMATS = ("png", "pdf")


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


def _dump(data, path) -> None:
    with open(path, "w") as handle:
        json.dump(to_jsonable(data), handle, indent=1, allow_nan=False)


def save_json(data, path) -> Path:
    """Write ``data`` as indented JSON atomically."""
    return atomic_write(path, lambda temporary: _dump(data, temporary))


def save_figure(figure, path, **kwargs) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix of ``path``."""
    fmt = Path(path).suffix.lstrip(".")
    return atomic_write(path, lambda temporary: figure.savefig(temporary, format=fmt, **kwargs))


def sha256(path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_figure_set(out, name: str, result: dict, figure) -> dict:
    """Write ``<out>/<name>.png``, ``.pdf`` and ``.json`` as one set (see the module docstring).

    Args:
      out: the output directory (created if missing).
      name: the figure's name.
      result: the JSON content (a dict); a ``"files"`` entry with each image's name and SHA-256 is added.
      figure: the matplotlib figure to render.

    Returns ``{"png": path, "pdf": path, "json": path}``.
    """
    out = Path(out)
    paths = {fmt: out / f"{name}.{fmt}" for fmt in (*IMAGE_FORMATS, "json")}
    with AtomicSet() as files:
        files_entry = {}
        for fmt in IMAGE_FORMATS:
            temporary = files.temporary(paths[fmt])
            figure.savefig(temporary, format=fmt)
            files_entry[fmt] = {"name": paths[fmt].name, "sha256": sha256(temporary)}
        _dump(dict(result, files=files_entry), files.temporary(paths["json"]))
    return paths


def stale_files(out, name: str, result: dict | None = None) -> list:
    """The image files of figure ``name`` that do not belong to its ``<out>/<name>.json``.

    An image is stale when its SHA-256 differs from the one the JSON records (a newer or older image: the
    process writing the set was killed between renames) or when it is missing. A JSON without ``"files"``
    (written before hashes were recorded) cannot tell, and gives ``[]``. ``result`` is the parsed JSON if
    the caller has it already.
    """
    out = Path(out)
    if result is None:
        result = json.loads((out / f"{name}.json").read_text())
    stale = []
    for entry in (result.get("files") or {}).values():
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or "sha256" not in entry:
            continue
        path = out / Path(entry["name"]).name  # only ever a file beside the JSON
        if not path.is_file() or sha256(path) != entry["sha256"]:
            stale.append(entry["name"])
    return stale
