"""Atomic file writes shared by the run store and the figures: a crash never leaves a half-written file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path, write) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file onto ``path`` (same directory, so atomic).

    The temporary file is removed if ``write`` raises; the final file gets the usual permissions (mkstemp
    creates 0600 files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path
