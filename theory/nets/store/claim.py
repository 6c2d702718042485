"""Claims on runs: one process trains a config while the others wait for its result; a dead holder is replaced.

A process that trains run ``<run_dir>/<hash>/`` first holds its claim, the file ``claim.json`` in the run's
directory: ``{"token", "host", "pid", "started", "heartbeat", "lease"}`` (times in seconds since the epoch).

* **Atomic.** The claim is created with its content complete, by ``os.link`` of a finished temporary file (which
  fails if ``claim.json`` exists; ``open(O_CREAT | O_EXCL)`` where links are not supported), so of two processes
  exactly one gets it.
* **Lease.** The holder rewrites ``heartbeat`` at the end of every epoch and from a background thread every
  ``lease / 5`` seconds. A claim whose heartbeat is older than its ``lease`` (or, on this host, whose process no
  longer exists) is *stale*: a dead process, here or on another host, is never waited on for ever. Hosts compare
  their own clock with the holder's heartbeat, so their clocks must agree to well within the lease.
* **Takeover.** A stale claim is renamed aside (only one process can rename it), checked to be the one judged
  stale (a fresh claim renamed by mistake is linked back), deleted, and claimed anew; the new holder resumes
  from the run's last checkpoint.
* **Lost claims.** A holder whose claim was taken over (it stalled past its lease) notices at its next renewal
  and stops training to wait like any other process; training is deterministic, so what both wrote for the
  same epoch is the same.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

from ..._checks import check_positive
from ..._io import atomic_write

__all__ = ["CLAIM_FILE", "LEASE_SECONDS", "Claim", "read_claim", "claim_is_stale", "try_claim"]

CLAIM_FILE = "claim.json"
#: seconds a claim stays valid without a heartbeat (a holder renews every ``lease / 5`` seconds and every epoch).
LEASE_SECONDS = 300.0


def read_claim(run_path) -> dict | None:
    """The claim record in ``run_path`` (None if unclaimed); an unreadable record counts from its file's mtime."""
    path = Path(run_path) / CLAIM_FILE
    try:
        text = path.read_text()
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise ValueError
        float(record["heartbeat"])
    except (ValueError, KeyError, TypeError):
        record = {"token": None, "heartbeat": mtime}
    return record


def _process_is_gone(record: dict) -> bool:
    if record.get("host") != socket.gethostname() or not isinstance(record.get("pid"), int):
        return False
    if record["pid"] == os.getpid():
        return False
    try:
        os.kill(record["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


def claim_is_stale(record: dict, now: float | None = None) -> bool:
    """True if the claim's heartbeat is older than its lease, or its process is gone (same host only)."""
    now = time.time() if now is None else now
    try:
        lease = float(record.get("lease", LEASE_SECONDS))
    except (TypeError, ValueError):
        lease = LEASE_SECONDS
    return now - float(record["heartbeat"]) > lease or _process_is_gone(record)


def _create(path: Path, record: dict) -> bool:
    """Creates ``path`` holding ``record`` unless it exists; True if this call created it."""
    temporary = path.with_name(f".{path.name}.{record['token']}.tmp")
    temporary.write_text(json.dumps(record))
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(handle, "w") as stream:
            stream.write(json.dumps(record))
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _remove_stale(path: Path, seen: dict, token: str) -> None:
    """Removes the stale claim ``seen`` at ``path``, unless another process replaced it meanwhile."""
    aside = path.with_name(f".{path.name}.{token}.stale")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # another process took it over first
    moved = _read_path(aside)
    if moved is not None and moved.get("token") != seen.get("token"):  # a fresh claim: put it back
        try:
            os.link(aside, path)
        except OSError:
            pass  # its holder notices at its next renewal
    aside.unlink(missing_ok=True)


def _read_path(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class Claim:
    """A claim held by this process on one run's directory (see the module docstring)."""

    def __init__(self, run_path, lease: float):
        self.path = Path(run_path) / CLAIM_FILE
        self.lease = lease
        self.token = uuid.uuid4().hex
        now = time.time()
        self.record = dict(token=self.token, host=socket.gethostname(), pid=os.getpid(), started=now,
                           heartbeat=now, lease=lease)
        self._lost = False
        self._stop = threading.Event()
        self._thread = None

    def start_heartbeat(self) -> None:
        """Renews the heartbeat from a daemon thread every ``lease / 5`` seconds until :meth:`release`."""
        def beat():
            while not self._stop.wait(self.lease / 5):
                self.renew()
        self._thread = threading.Thread(target=beat, name=f"claim-heartbeat-{self.path.parent.name}", daemon=True)
        self._thread.start()

    def renew(self) -> bool:
        """Writes a new heartbeat; False (and nothing written) if another process has taken the claim over."""
        if self._lost or self._stop.is_set():
            return not self._lost
        current = read_claim(self.path.parent)
        if current is None or current.get("token") != self.token:
            self._lost = True
            return False
        self.record["heartbeat"] = time.time()
        text = json.dumps(self.record)
        atomic_write(self.path, lambda temporary: Path(temporary).write_text(text))
        return True

    @property
    def held(self) -> bool:
        return not self._lost

    def release(self) -> None:
        """Stops the heartbeat and deletes the claim if it is still this process's."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        current = read_claim(self.path.parent)
        if current is not None and current.get("token") == self.token:
            self.path.unlink(missing_ok=True)


def try_claim(run_path, lease: float = LEASE_SECONDS) -> tuple[Claim | None, dict | None]:
    """Claims ``run_path`` (created if needed), taking over a stale claim.

    Returns:
      ``(claim, None)`` when this process now holds the claim, ``(None, record)`` when another live process
      holds it (``record`` is its claim).
    """
    lease = check_positive(lease, "lease")
    run_path = Path(run_path)
    run_path.mkdir(parents=True, exist_ok=True)
    claim = Claim(run_path, lease)
    for _ in range(100):
        if _create(claim.path, claim.record):
            return claim, None
        record = read_claim(run_path)
        if record is None:
            continue  # released between the two calls
        if not claim_is_stale(record):
            return None, record
        _remove_stale(claim.path, record, claim.token)
    raise RuntimeError(f"could not claim {run_path}: its claim changed 100 times in a row.")
