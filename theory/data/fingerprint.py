"""Content fingerprints of on-disk datasets: a SHA-256 over the bytes of exactly the files a reader reads.

A trained run is named by the hash of its configuration (:meth:`theory.nets.TrainConfig.hash`). For a dataset
read from files, the path alone does not identify the data: replacing the files in the same directory must give
another run. :func:`data_fingerprint` hashes the files' bytes:

* ``"cifar10"`` / ``"cifar100"``: the python-pickle files :func:`~theory.data.read_cifar` reads (listed by
  :func:`theory.data.files.data_files`, the reader's own rule)
  (``data_batch_1`` … ``data_batch_5``, ``test_batch`` / ``train``, ``test``), in ``data_dir`` or in its standard
  sub-directory, chosen by the same rule as the reader; other files in the directory do not count;
* ``"npz"``: the ``.npz`` file itself.

The fingerprint is ``sha256("<name>\\0<sha256 of its bytes>\\n" for each file in order)``. Each file's digest is
cached in memory under ``(resolved path, size, mtime_ns, inode)``, so a fingerprint costs a few ``stat`` calls
after the first read. A cached digest is trusted only if the file's mtime was at least :data:`RACY_SECONDS`
older than the moment it was hashed (a file rewritten within one coarse timestamp tick keeps its mtime; git
handles its index the same way).
"""
from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

from .files import data_files

__all__ = ["RACY_SECONDS", "clear_cache", "data_fingerprint", "files_fingerprint"]

#: a cached digest is used only for files whose mtime is at least this much older than when they were hashed.
RACY_SECONDS = 2.0

_CACHE: dict = {}
_LOCK = threading.Lock()
_CHUNK = 1 << 20


def _file_digest(path: Path) -> str:
    try:
        resolved = path.resolve()
        stat = resolved.stat()
    except OSError as error:
        raise ValueError(f"cannot fingerprint the data file {str(path)!r}: {error.strerror or error}.") from None
    if not resolved.is_file():
        raise ValueError(f"cannot fingerprint the data file {str(path)!r}: it is not a regular file.")
    key = (str(resolved), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None and stat.st_mtime_ns < cached[1] - int(RACY_SECONDS * 1e9):
        return cached[0]
    hashed_at = time.time_ns()
    digest = hashlib.sha256()
    try:
        with open(resolved, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError as error:
        raise ValueError(f"cannot fingerprint the data file {str(path)!r}: {error.strerror or error}.") from None
    result = digest.hexdigest()
    with _LOCK:
        _CACHE[key] = (result, hashed_at)
    return result


def files_fingerprint(paths) -> str:
    """SHA-256 (hex) of the files ``paths`` (their names and bytes, in the given order).

    Example:
      >>> import pathlib, tempfile
      >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
      >>> _ = path.write_bytes(b"abc")
      >>> files_fingerprint([path]) == files_fingerprint([path]), len(files_fingerprint([path]))
      (True, 64)

    Raises:
      ValueError: a file is missing or unreadable (the message names it).
    """
    total = hashlib.sha256()
    for path in paths:
        path = Path(path)
        total.update(f"{path.name}\0{_file_digest(path)}\n".encode())
    return total.hexdigest()


def data_fingerprint(name: str, data_dir) -> str:
    """The content fingerprint (SHA-256 hex) of file dataset ``name`` read from ``data_dir``.

    Replacing any file the reader reads changes it; files the reader ignores do not, and neither does the
    path of the directory holding the CIFAR files (moving it keeps the fingerprint).

    Raises:
      ValueError: not a file dataset, or a file the reader needs is missing (the message names it).
    """
    return files_fingerprint(data_files(name, data_dir))


def clear_cache() -> None:
    """Forgets every cached file digest (the next fingerprint reads the files again)."""
    with _LOCK:
        _CACHE.clear()
