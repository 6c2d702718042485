"""Fault injection for tests and drills: end this process abruptly, once across all processes.

``exit_once(marker)`` creates the file ``marker`` exclusively (``O_CREAT | O_EXCL``) and, if this call created it,
ends the process at once with ``os._exit`` -- no ``finally`` blocks, no released locks or claims, as a killed
worker (out of memory, a preempted node) leaves them. Any later call, in any process, finds the marker and
returns False, so a retried task runs normally. The marker holds ``note`` (what the process had done).
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["exit_once"]


def exit_once(marker, note: str = "", code: int = 70) -> bool:
    """Ends this process with exit status ``code`` unless ``marker`` exists (then returns False)."""
    marker = Path(marker)
    try:
        handle = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(handle, "w") as stream:
        stream.write(note)
        stream.flush()
        os.fsync(stream.fileno())
    os._exit(code)
