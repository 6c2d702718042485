"""The store as a whole: every run's status, size and reachability; pruning the runs no current config reaches."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..config import TrainConfig
from .claim import CLAIM_FILE, claim_is_stale, read_claim

__all__ = ["run_status", "reachable", "stored_runs", "list_runs", "prune_runs"]


def run_status(path) -> str:
    """``"complete"``, ``"claimed"`` (a live process trains it), ``"incomplete (stale claim)"`` or ``"incomplete"``."""
    path = Path(path)
    if (path / "summary.json").is_file():
        return "complete"
    record = read_claim(path)
    if record is None:
        return "incomplete"
    return "incomplete (stale claim)" if claim_is_stale(record) else "claimed"


def reachable(path) -> tuple[bool, str]:
    """Whether a current config can reach the run stored at ``path``, and why not.

    *Reachable* means: ``config.json`` exists, rebuilds a :class:`TrainConfig` under the current code, and that
    config hashes (under the current hashing, with the current bytes of its data files) to the directory's name
    -- so :func:`theory.nets.train` of that config would use this directory. A run trained before its data files
    were replaced, before a change of :data:`~theory.nets.config.FORMAT_VERSION`, on data no longer present, or
    killed before writing its config, is unreachable. (Whether some figure or sweep still asks for a reachable
    run is not checked: a reachable run is kept.)

    Returns:
      ``(True, "")`` or ``(False, reason)``.
    """
    path = Path(path)
    try:
        stored = json.loads((path / "config.json").read_text())
    except FileNotFoundError:
        return False, "no config.json"
    except (OSError, ValueError) as error:
        return False, f"config.json is unreadable ({error})"
    try:
        now = TrainConfig.from_dict(stored["config"]).hash()
    except (ValueError, TypeError, KeyError) as error:
        return False, f"its config is no longer valid ({str(error).rstrip('.')})"
    if now != path.name:
        return False, f"its config now hashes to {now} (its data files or the hashing changed)"
    return True, ""


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024


def _describe(path: Path) -> str:
    try:
        return TrainConfig.from_dict(json.loads((path / "config.json").read_text())["config"]).describe()
    except (OSError, ValueError, TypeError, KeyError):
        return "?"


def stored_runs(run_dir) -> list[dict]:
    """One dict per run directory of the store: ``hash``, ``path``, ``status``, ``size``, ``reachable``,
    ``reason`` and ``describe`` (the config's one-line summary, ``"?"`` if unreadable); sorted by hash."""
    rows = []
    for path in sorted(p for p in Path(run_dir).iterdir() if p.is_dir() and not p.name.startswith(".")):
        ok, reason = reachable(path)
        rows.append(dict(hash=path.name, path=path, status=run_status(path), size=_size(path), reachable=ok,
                         reason=reason, describe=_describe(path)))
    return rows


def list_runs(rows) -> None:
    """Prints one line per run of :func:`stored_runs` and a total."""
    for row in rows:
        where = "reachable" if row["reachable"] else f"unreachable: {row['reason']}"
        print(f"{row['hash']:<16}  {row['status']:<24}  {_human(row['size']):>10}  {row['describe']}  [{where}]")
    total = sum(row["size"] for row in rows)
    print(f"{len(rows)} runs, {_human(total)}; {sum(not r['reachable'] for r in rows)} unreachable.")


def prune_runs(rows, yes: bool = False) -> None:
    """Removes the unreachable runs of :func:`stored_runs` (``yes``) or names them (dry run); prints each."""
    doomed = [r for r in rows if not r["reachable"]]
    for row in doomed:
        if row["status"] == "claimed":
            print(f"kept {row['hash']}: a live process holds its claim ({CLAIM_FILE}).")
            continue
        if yes:
            shutil.rmtree(row["path"])
        verb = "removed" if yes else "would remove"
        print(f"{verb} {row['hash']} ({row['reason']}; {_human(row['size'])}; {row['describe']})")
    if not doomed:
        print("nothing to prune: every run is reachable.")
    elif not yes:
        print("dry run: nothing was deleted; pass --yes to remove the runs named above.")
