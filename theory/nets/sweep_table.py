"""The files of a sweep: ``sweep.json`` (rows of seed means), ``sweep.md`` (the table) and ``sweep.csv`` (every run).

``sweep.csv`` has one line per setting × seed × role: the five runs (``teacher``, ``student``, ``control``,
``late``, ``early``: their final metrics) and ``measure`` (what :func:`theory.nets.outcome.measure` returned),
with the columns ``setting, seed, role, key, status, error, task_seconds`` (the task's wall time here), then
every number, then the setting's
fields (``setting.<field>``). A failed or skipped task has its line, with its error and no numbers. Figures and
reports read it with :func:`read_table`. All three files are replaced atomically after each completed setting,
so a long sweep can be read while it runs.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from .outcome import markdown
from .store import atomic_write

__all__ = ["write_files", "read_table", "TABLE_FILE", "FIXED_COLUMNS"]

TABLE_FILE = "sweep.csv"
#: the first columns of ``sweep.csv``; the numbers and the setting's fields follow.
FIXED_COLUMNS = ("setting", "seed", "role", "key", "status", "error", "task_seconds")


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value


def _failures(rows) -> str:
    lines = []
    for row in rows:
        for failure in row.get("errors", ()):
            lines.append(f"| {row['name']} | {failure['seed']} | {failure['role']} | {failure['status']} | "
                         f"{failure['error'].replace('|', '/')} |")
    if not lines:
        return ""
    head = "\n## Failed runs\n\n| setting | seed | role | status | error |\n|---|---|---|---|---|\n"
    return head + "\n".join(lines) + "\n"


def _csv_text(records) -> str:
    columns = list(FIXED_COLUMNS)
    for record in records:
        columns += [k for k in record if k not in columns and not k.startswith("setting.")]
    for record in records:
        columns += [k for k in record if k not in columns]
    stream = io.StringIO()
    writer = csv.DictWriter(stream, columns, restval="", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v
                         for k, v in _clean(record).items()})
    return stream.getvalue()


def write_files(out, rows, records) -> None:
    """Writes ``sweep.json`` (``rows``), ``sweep.md`` (the table of the rows with numbers, then the failures)
    and ``sweep.csv`` (``records``: one dict per setting × seed × role) into ``out``, each atomically."""
    out = Path(out)
    text = json.dumps(_clean(rows), indent=1)
    atomic_write(out / "sweep.json", lambda t: Path(t).write_text(text))
    table = markdown([row for row in rows if "test_slope" in row]) + _failures(rows)
    atomic_write(out / "sweep.md", lambda t: Path(t).write_text(table))
    table_text = _csv_text(records)
    atomic_write(out / TABLE_FILE, lambda t: Path(t).write_text(table_text))


def _parse(text: str):
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_table(path) -> list[dict]:
    """The lines of ``sweep.csv`` (``path``: the file or the sweep's ``--out`` directory) as dicts: numbers as
    int or float, empty cells as None, text as str.

    Example:
      >>> import tempfile
      >>> out = tempfile.mkdtemp()
      >>> write_files(out, [], [dict(setting="a", seed=0, role="teacher", status="done", test_accuracy=0.5)])
      >>> read_table(out)[0]["test_accuracy"], read_table(out)[0]["error"]
      (0.5, None)
    """
    path = Path(path)
    if path.is_dir():
        path = path / TABLE_FILE
    with open(path, newline="") as stream:
        return [{k: _parse(v) for k, v in line.items()} for line in csv.DictReader(stream)]
