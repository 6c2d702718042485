"""Loading untrusted data files without running code: a restricted unpickler for CIFAR batches, and
``np.load`` without pickles for ``.npz`` archives. Every failure is a ``ValueError`` naming the file.

A pickle runs code only through the globals it names (``GLOBAL``/``STACK_GLOBAL``/``INST``/``OBJ`` and the
extension registry all resolve through ``find_class``): the unpickler admits only numpy's array constructors,
so nothing else can be called. What the stream builds without a global (sets, bytearrays, …) is then
checked to be the plain data a CIFAR batch holds.
"""
from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np

#: the only globals a CIFAR pickle may name: what numpy needs to rebuild an array (old and new module paths, every
#: pickle protocol). Anything else (a function that runs code on load) is refused.
_PICKLE_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})

#: the plain values a CIFAR batch is made of, besides numpy arrays of numbers.
_PLAIN = (dict, list, tuple, bytes, str, int, float, bool, type(None))

CIFAR_CONTENTS = "a CIFAR batch holds only a dict of bytes, str, numbers, lists and numpy arrays"


#: where numpy's array constructors live (numpy >= 2 moved ``numpy.core`` to ``numpy._core``; the old path warns).
_NUMPY_CORE = "numpy._core" if importlib.util.find_spec("numpy._core") is not None else "numpy.core"


def _encode_latin1(text, encoding="latin1", errors="strict"):
    """``_codecs.encode`` as protocol-2 pickles of bytes use it, for Latin-1 only (a codec lookup imports)."""
    if encoding not in ("latin1", "latin-1") or errors != "strict" or type(text) is not str:
        raise pickle.UnpicklingError(f"refusing to encode a {type(text).__name__} with codec {encoding!r}")
    return text.encode("latin1")


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that calls nothing but numpy's array constructors (a data file must not run code)."""

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")
        if module == "_codecs":
            return _encode_latin1
        for old in ("numpy.core.", "numpy._core."):
            if module.startswith(old):
                module = _NUMPY_CORE + "." + module[len(old):]
        return super().find_class(module, name)


def _reason(error: BaseException) -> str:
    """The error in a few words (malformed streams can make long messages)."""
    text = str(error)
    text = text if len(text) <= 120 else text[:117] + "..."
    return text if isinstance(error, pickle.UnpicklingError) else f"{type(error).__name__}: {text}"


def _check_plain(value, path: Path) -> None:
    """Refuse anything in ``value`` that is not plain data (iteratively: a pickle can nest deeply or loop)."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        kind = type(item)
        if kind is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif kind in (list, tuple):
            stack.extend(item)
        elif kind is np.ndarray or isinstance(item, np.generic):
            if item.dtype.hasobject:
                raise ValueError(f"{path} is not a CIFAR python-pickle file: refusing to load an array of Python "
                                 f"objects (dtype {item.dtype}); {CIFAR_CONTENTS}.")
        elif kind not in _PLAIN:
            raise ValueError(f"{path} is not a CIFAR python-pickle file: refusing to load a {kind.__name__}; "
                             f"{CIFAR_CONTENTS}.")


def unpickle(path: Path):
    """The plain data pickled in ``path``, read by the restricted unpickler.

    Raises:
      ValueError: naming ``path``, for an unreadable or malformed pickle (truncated, random bytes), one that
        names a global other than numpy's array constructors, or one that holds anything but plain data.
    """
    try:
        with open(path, "rb") as handle:
            value = _RestrictedUnpickler(handle, encoding="bytes").load()
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror or error}.") from None
    except Exception as error:  # noqa: BLE001 - any malformed stream: EOFError, UnpicklingError, MemoryError, …
        raise ValueError(f"{path} is not a CIFAR python-pickle file: {_reason(error)} ({CIFAR_CONTENTS}).") from None
    _check_plain(value, path)
    return value


def load_npz_arrays(path: Path, names) -> list[np.ndarray]:
    """The arrays ``names`` of the ``.npz`` archive ``path``, read without unpickling anything.

    Raises:
      ValueError: naming ``path``, for a file that is not a readable ``.npz`` archive (random bytes, truncated,
        a single ``.npy`` array), a missing array, or an array of Python objects (which would need a pickle).
    """
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - BadZipFile, EOFError, ValueError, …
        raise ValueError(f"{path} is not a readable .npz file: {_reason(error)}.") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not a .npz archive (it holds a single array, as a .npy file does); save the "
                         "data with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...).")
    with archive:
        missing = [name for name in names if name not in archive.files]
        if missing:
            raise ValueError(f"{path} lacks the arrays {missing}; it has {archive.files}.")
        arrays = []
        for name in names:
            try:
                array = archive[name]
            except Exception as error:  # noqa: BLE001 - object arrays, corrupt members
                raise ValueError(f"{path}: the array {name} cannot be read: {_reason(error)} (arrays of Python "
                                 "objects are refused: reading them would unpickle, and may run code).") from None
            if not isinstance(array, np.ndarray):  # a member that is not in the .npy format comes back as bytes
                raise ValueError(f"{path}: the member {name!r} is not an array in the .npy format.")
            arrays.append(array)
    return arrays
