"""One run of the store: the directory ``<run_dir>/<config hash>/``, every file written atomically.

==========================  ==================================================================================
``config.json``             ``{"hash", "format", "teacher_hash", "config": TrainConfig.to_dict()}``, and for a file
                            dataset ``"data_fingerprint"`` (the SHA-256 of its files, part of the hash)
``metrics.jsonl``           one JSON object per completed epoch (loss, accuracies, learning rate, seconds, …)
``logits.npz``              ``epochs (E,)``, ``train (E, n, C)``, ``test (E, m, C)`` float32 at ``record_epochs``
``checkpoint.msgpack``      the latest training state (params, BatchNorm statistics, optimiser state) and its
                            epoch, in flax's msgpack serialisation
``summary.json``            written last, when the run is complete: final metrics and wall time
``claim.json``              while a process trains the run: who, and its last heartbeat (:mod:`theory.nets.store.claim`)
==========================  ==================================================================================

Atomic: each file is written to a temporary file in the same directory and renamed over the old one
(``os.replace``), so a killed process leaves either the old or the new file, never half of one. A run is
complete exactly when ``summary.json`` exists. Two processes asking for the same run do not race: one holds
its claim and trains, the other waits and reuses the result (:func:`theory.nets.train`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from flax import serialization

from ..._io import atomic_write
from ..config import TrainConfig

__all__ = ["Run", "atomic_write", "DEFAULT_RUN_DIR"]

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
