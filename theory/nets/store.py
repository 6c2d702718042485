"""On-disk store of training runs: ``<run_dir>/<config hash>/``, every file written atomically.

==========================  ==================================================================================
``config.json``             ``{"hash", "format", "config": TrainConfig.to_dict(), "teacher_hash"}``
``metrics.jsonl``           one JSON object per completed epoch (loss, accuracies, learning rate, seconds, …)
``logits.npz``              ``epochs (E,)``, ``train (E, n, C)``, ``test (E, m, C)`` float32 at ``record_epochs``
``checkpoint.msgpack``      the latest training state (params, BatchNorm statistics, optimiser state) and its
                            epoch, in flax's msgpack serialisation
``summary.json``            written last, when the run is complete: final metrics and wall time
``claim.json``              while a process trains the run: who, and its last heartbeat (:mod:`theory.nets.claim`)
==========================  ==================================================================================

Atomic: each file is written to a temporary file in the same directory and renamed over the old one
(``os.replace``), so a killed process leaves either the old or the new file, never half of one. A run is
complete exactly when ``summary.json`` exists. Two processes asking for the same run do not race: one holds
its claim and trains, the other waits and reuses the result (:func:`theory.nets.train`).

One store, chosen in one way: ``theory.nets.train(config, run_dir)`` (``run_dir`` defaults to
:data:`DEFAULT_RUN_DIR`, ``results/runs``) and ``--runs DIR`` on the command lines (default ``<out>/runs``).

``python -m theory.nets.store --runs DIR list`` lists the runs (hash, status, size, whether reachable, config);
``python -m theory.nets.store --runs DIR prune [--yes]`` removes the unreachable ones (see :func:`reachable`):
a dry run names each run it would remove, ``--yes`` removes them. Runs claimed by a live process are kept.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from flax import serialization

from .._io import atomic_write
from .claim import CLAIM_FILE, claim_is_stale, read_claim
from .config import TrainConfig

__all__ = ["Run", "atomic_write", "DEFAULT_RUN_DIR", "run_status", "reachable", "stored_runs", "main"]

#: the run store of :func:`theory.nets.train` when none is given (the command lines default to ``<out>/runs``).
DEFAULT_RUN_DIR = "results/runs"


def _write_text(path, text: str) -> Path:
    def write(temporary):
        with open(temporary, "w") as handle:
            handle.write(text)
    return atomic_write(path, write)


def _write_bytes(path, data: bytes) -> Path:
    def write(temporary):
        with open(temporary, "wb") as handle:
            handle.write(data)
    return atomic_write(path, write)


class Run:
    """One run's directory in a run store.

    Example:
      >>> import tempfile
      >>> run = Run(tempfile.mkdtemp(), TrainConfig(epochs=2))
      >>> run.complete, run.path.name == run.config.hash()
      (False, True)

    Attributes:
      config: the run's :class:`TrainConfig`.
      path: ``<run_dir>/<config.hash()>``.
    """

    def __init__(self, run_dir, config: TrainConfig):
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}.")
        self.config = config
        self.hash = config.hash()
        self.path = Path(run_dir) / self.hash

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"{len(self.metrics())}/{self.config.epochs} epochs"
        return f"Run({self.hash}, {self.config.describe()}, {state})"

    @classmethod
    def open(cls, run_dir, hash: str) -> Run:
        """The run stored under ``<run_dir>/<hash>`` (reads its ``config.json``)."""
        path = Path(run_dir) / hash
        if not (path / "config.json").is_file():
            raise ValueError(f"no run {hash!r} in {str(run_dir)!r} (no config.json).")
        stored = json.loads((path / "config.json").read_text())
        run = cls(run_dir, TrainConfig.from_dict(stored["config"]))
        if run.hash != hash:
            raise ValueError(f"run {hash!r} in {str(run_dir)!r} is stale: its config now hashes to {run.hash!r} "
                             "(its data files or the hashing changed); train the config again, or remove the run "
                             f"with python -m theory.nets.store --runs {run_dir} prune.")
        return run

    # ----------------------------------------------------------------------------------------- status
    @property
    def complete(self) -> bool:
        return (self.path / "summary.json").is_file()

    def summary(self) -> dict:
        """The final summary (raises ValueError if the run is not complete)."""
        if not self.complete:
            raise ValueError(f"run {self.hash} is not complete; train it first (theory.nets.train).")
        return json.loads((self.path / "summary.json").read_text())

    def write_config(self):
        teacher = None if self.config.teacher is None else self.config.teacher.hash()
        canonical = self.config.canonical()
        stored = {"hash": self.hash, "format": canonical["format"], "teacher_hash": teacher}
        if "data_fingerprint" in canonical:  # file datasets only
            stored["data_fingerprint"] = canonical["data_fingerprint"]
        text = json.dumps({**stored, "config": self.config.to_dict()}, indent=1)
        _write_text(self.path / "config.json", text)

    def write_summary(self, summary: dict):
        _write_text(self.path / "summary.json", json.dumps(summary, indent=1))

    # ----------------------------------------------------------------------------------------- metrics
    def metrics(self) -> list[dict]:
        """Per-epoch metric rows, in epoch order (empty before the first epoch)."""
        path = self.path / "metrics.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def write_metrics(self, rows: list[dict]):
        _write_text(self.path / "metrics.jsonl", "".join(json.dumps(row) + "\n" for row in rows))

    # ----------------------------------------------------------------------------------------- logits
    def logits(self) -> dict:
        """``{"epochs": (E,), "train": (E, n, C), "test": (E, m, C)}`` float32, recorded epochs only."""
        path = self.path / "logits.npz"
        if not path.is_file():
            return {}
        with np.load(path) as archive:
            return {key: archive[key] for key in archive.files}

    def logits_at(self, epoch: int | None = None, split: str = "train") -> np.ndarray:
        """``(n, C)`` (train) or ``(m, C)`` (test) logits at a recorded epoch (None: the last)."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
        stored = self.logits()
        if not stored:
            raise ValueError(f"run {self.hash} has no recorded logits yet.")
        epochs = list(stored["epochs"])
        epoch = epochs[-1] if epoch is None else epoch
        if epoch not in epochs:
            raise ValueError(f"epoch {epoch} was not recorded in run {self.hash}; recorded: {epochs}.")
        return stored[split][epochs.index(epoch)]

    def write_logits(self, recorded: dict):
        """Stores ``{epoch: (train (n, C), test (m, C))}``."""
        epochs = sorted(recorded)

        def write(temporary):
            with open(temporary, "wb") as handle:
                np.savez(handle, epochs=np.asarray(epochs, dtype=np.int64),
                         train=np.stack([recorded[e][0] for e in epochs]),
                         test=np.stack([recorded[e][1] for e in epochs]))
        atomic_write(self.path / "logits.npz", write)

    # ----------------------------------------------------------------------------------------- checkpoints
    def save_checkpoint(self, epoch: int, state):
        """Stores ``state`` (a pytree of arrays) after ``epoch`` completed epochs."""
        payload = serialization.to_bytes({"epoch": np.asarray(epoch, np.int64), "state": state})
        _write_bytes(self.path / "checkpoint.msgpack", payload)

    def load_checkpoint(self, template):
        """``(epoch, state)`` of the latest checkpoint, restored into the structure of ``template``; None if absent."""
        path = self.path / "checkpoint.msgpack"
        if not path.is_file():
            return None
        restored = serialization.from_bytes({"epoch": np.asarray(0, np.int64), "state": template},
                                            path.read_bytes())
        return int(restored["epoch"]), restored["state"]


# --------------------------------------------------------------------------------------------------- the store
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


def _list(rows) -> None:
    for row in rows:
        where = "reachable" if row["reachable"] else f"unreachable: {row['reason']}"
        print(f"{row['hash']:<16}  {row['status']:<24}  {_human(row['size']):>10}  {row['describe']}  [{where}]")
    total = sum(row["size"] for row in rows)
    print(f"{len(rows)} runs, {_human(total)}; {sum(not r['reachable'] for r in rows)} unreachable.")


def _prune(rows, yes: bool) -> None:
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


def main(argv=None) -> int:
    """``python -m theory.nets.store --runs DIR {list,prune} [--yes]``."""
    parser = argparse.ArgumentParser(prog="python -m theory.nets.store", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True, help="the run store")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the runs: hash, status, size, config, reachable")
    prune = commands.add_parser("prune", help="remove the unreachable runs (a dry run without --yes)")
    prune.add_argument("--yes", action="store_true", help="really delete the runs named")
    args = parser.parse_args(argv)
    if not Path(args.runs).is_dir():
        parser.error(f"--runs {args.runs!r} is not a directory.")
    rows = stored_runs(args.runs)
    if args.command == "list":
        _list(rows)
    else:
        _prune(rows, args.yes)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
