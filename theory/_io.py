"""Atomic file writes shared by the run store and the figures: a crash never leaves a half-written file.

Two guarantees, for one file (:func:`atomic_write`) and for a set of files replaced together
(:class:`AtomicSet`):

* a file is written to a hidden temporary in its own directory (``.<name>.tmp-<random><suffix>``: the target's
  suffix is kept, so a writer that appends one, such as ``np.savez``, writes the temporary itself), flushed to
  disk (``fsync``), then renamed over the target with ``os.replace`` -- atomic on POSIX and Windows within one
  directory, so a reader sees the old file or the new one, never half of one;
* on any exception (the writer raising, a rename failing, ``KeyboardInterrupt``) every temporary is removed and
  the old files are left as they were; nothing is left behind. Only a process killed outright (SIGKILL, power
  loss) can leave a hidden ``.<name>.tmp-*`` file, which no reader looks at.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


def _temporary(path: Path) -> str:
    """A new empty hidden file beside ``path`` with the same suffix (mode 0600 until published)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-", suffix=path.suffix)
    os.close(handle)
    return temporary


def _publishable(temporary) -> None:
    """Flush ``temporary`` to disk and give it the usual permissions (mkstemp creates 0600 files)."""
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o666 & ~_UMASK)


def _remove(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def atomic_write(path, write) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file onto ``path`` (same directory, so atomic).

    ``write`` must write the whole content to the path it is given; the temporary has ``path``'s suffix. On
    any exception the temporary is removed, ``path`` keeps its old content (if any), and the exception is
    re-raised. Parent directories are created.

    Example:
      >>> import pathlib, tempfile
      >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
      >>> atomic_write(target, lambda temporary: pathlib.Path(temporary).write_text("hi")).read_text()
      'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = None
    try:
        temporary = _temporary(path)
        write(temporary)
        _publishable(temporary)
        os.replace(temporary, path)
    except BaseException:
        if temporary is not None:
            _remove(temporary)
        raise
    return path


class AtomicSet:
    """Replace several files as one set: every new file is written first, then all are renamed, in order.

    Use as a context manager: :meth:`temporary` gives the path to write each target's new content to; when the
    block ends without an exception the temporaries are renamed onto their targets in the order they were
    asked for (so the last one is the commit point: put the file that describes the others last). On an
    exception in the block, or a failed rename, every temporary is removed and the targets already replaced
    are put back (from hard links to the old files taken just before the renames), so the old set stays
    whole; the exception is re-raised.

    What a reader can see: the old set or the new set. Only if the process is killed outright *between* two
    renames (a window of microseconds) can the first targets be new and the later ones old, and the hidden
    ``.<name>.tmp-*``/``.<name>.old-*`` files remain; a last file that records a hash of the others (as the
    figures' JSON does) tells a reader which files belong to it.

    Example:
      >>> import pathlib, tempfile
      >>> out = pathlib.Path(tempfile.mkdtemp())
      >>> with AtomicSet() as files:
      ...     pathlib.Path(files.temporary(out / "a.txt")).write_text("A")
      ...     pathlib.Path(files.temporary(out / "b.txt")).write_text("B")
      1
      1
      >>> sorted(p.name for p in out.iterdir())
      ['a.txt', 'b.txt']
    """

    def __init__(self):
        self._pending = []  # (temporary, target) in rename order

    def temporary(self, path) -> str:
        """A fresh temporary file for ``path``'s new content (parent directories are created)."""
        path = Path(path)
        if any(target == path for _, target in self._pending):
            raise ValueError(f"path {str(path)!r} is already in this set.")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = _temporary(path)
        self._pending.append((temporary, path))
        return temporary

    def __enter__(self) -> AtomicSet:
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        try:
            if kind is None:
                self._commit()
        finally:
            for temporary, _ in self._pending:
                _remove(temporary)
            self._pending = []
        return False

    def _commit(self) -> None:
        backups, done = {}, []
        try:
            for temporary, _ in self._pending:
                _publishable(temporary)
            for _, target in self._pending:  # keep the old files until every rename has succeeded
                if target.exists():
                    backups[target] = _backup(target)
            for temporary, target in self._pending:
                os.replace(temporary, target)
                done.append(target)
        except BaseException:
            for target in reversed(done):
                try:
                    if target in backups:
                        os.replace(backups[target], target)
                        del backups[target]
                    else:
                        _remove(target)
                except OSError:  # cannot restore: keep the old content's hidden copy on disk
                    backups.pop(target, None)
            raise
        finally:
            for backup in backups.values():
                _remove(backup)


def _backup(path: Path) -> str:
    """A hidden copy of ``path`` beside it: a hard link (no data copied) where the file system has them."""
    backup = str(path.with_name(f".{path.name}.old-{secrets.token_hex(6)}{path.suffix}"))
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)
    return backup
