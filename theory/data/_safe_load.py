"""Loading untrusted data files without running code: a restricted unpickler for CIFAR batches, and
``np.load`` without pickles for ``.npz`` archives. Every failure is a ``ValueError`` naming the file.

A pickle runs code only through the globals it names (``GLOBAL``/``STACK_GLOBAL``/``INST``/``OBJ`` and the
extension registry all resolve through ``find_class``): the unpickler admits only numpy's array constructors,
and each is a stand-in that checks its arguments, so nothing else can be called and numpy never sees a state
from the file. The opcode stream is first scanned, so that no length a malformed file claims beyond its
end is allocated. What the stream builds without a global (sets, bytearrays, …) is then checked to
be the plain data a CIFAR batch holds.
"""
from __future__ import annotations

import io
import pickle
import pickletools
from pathlib import Path

import numpy as np

def _refuse(what: str):
    raise pickle.UnpicklingError(f"refusing {what}")


def _shape(shape) -> tuple:
    if type(shape) is not tuple or not all(type(n) is int and n >= 0 for n in shape):
        _refuse(f"an array shape {shape!r}")
    return shape


class _Dtype:
    """Stands for a numeric ``numpy.dtype`` while unpickling: its ``__setstate__`` (the pickle's BUILD) checks the
    state instead of handing it to numpy (numpy's own ``dtype.__setstate__`` crashes on some malformed states)."""

    def __init__(self, spec, align=False, copy=False):
        if type(spec) is not str or type(align) not in (bool, int) or align not in (0, 1) or copy not in (0, 1):
            _refuse(f"dtype arguments {spec!r}, {align!r}, {copy!r}")
        try:
            self.dtype = np.dtype(spec)
        except TypeError:
            _refuse(f"the dtype {spec!r}")
        if self.dtype.kind not in "biuf":
            _refuse(f"the dtype {spec!r} (only booleans, integers and floats)")

    def __setstate__(self, state):
        if type(state) is not tuple or len(state) < 2 or state[1] not in ("<", ">", "|", "=") or \
                any(entry is not None for entry in state[2:5]):
            _refuse(f"the dtype state {state!r:.80}")
        if state[1] in "<>":
            self.dtype = self.dtype.newbyteorder(state[1])


class _Array:
    """Stands for a ``numpy.ndarray`` while unpickling (from ``_reconstruct`` then BUILD, or ``_frombuffer``); the
    array is built from checked shape, dtype and bytes, never by numpy's ``__setstate__``."""

    def __init__(self, array=None):
        self.array = array

    def __setstate__(self, state):
        if self.array is not None or type(state) is not tuple or len(state) not in (4, 5):
            _refuse("an array state")
        shape, dtype, fortran, data = state[-4:]
        self.array = _array(data, dtype, shape, "F" if fortran else "C")


def _array(data, dtype, shape, order) -> np.ndarray:
    if type(dtype) is not _Dtype or type(data) not in (bytes, bytearray) or order not in ("C", "F"):
        _refuse("an array that is not a numeric array stored as bytes")
    shape, dtype = _shape(shape), dtype.dtype
    if len(data) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        _refuse(f"an array of {len(data)} bytes for shape {shape} and dtype {dtype}")
    return np.frombuffer(bytes(data), dtype=dtype).reshape(shape, order=order)  # a copy of a bytearray


class _ArrayType:
    """Stands for ``numpy.ndarray`` itself (a constructor over any buffer, not exposed)."""


_NDARRAY = _ArrayType()


def _reconstruct(subtype, shape, code):
    """numpy's ``_reconstruct(ndarray, (0,), b'b')``, the first step of unpickling an array (protocols 0-4)."""
    if subtype is not _NDARRAY or type(code) is not bytes:
        _refuse("an array constructor other than numpy.ndarray")
    _shape(shape)
    return _Array()


def _scalar(dtype, data=None):
    """numpy's ``scalar(dtype, bytes)``, as a Python number."""
    if type(dtype) is not _Dtype or type(data) is not bytes or len(data) != dtype.dtype.itemsize:
        _refuse("a numpy scalar that is not a number stored as bytes")
    return np.frombuffer(data, dtype=dtype.dtype)[0].item()


def _frombuffer(buffer, dtype, shape, order):
    """numpy's ``_frombuffer`` (protocol 5)."""
    return _Array(_array(buffer, dtype, shape, order))


def _encode_latin1(text, encoding="latin1", errors="strict"):
    """``_codecs.encode`` as protocol-2 pickles of bytes use it, for Latin-1 only (a codec lookup imports)."""
    if encoding not in ("latin1", "latin-1") or errors != "strict" or type(text) is not str:
        _refuse(f"to encode a {type(text).__name__} with codec {encoding!r}")
    return text.encode("latin1")


def _empty_bytes(*args):
    """``bytes()``, as protocols 0-2 pickle an empty bytes object (and only that)."""
    if args:
        _refuse("to call bytes with arguments")
    return b""


#: the only globals a CIFAR pickle may name, each bound to a checked stand-in: what numpy needs to rebuild an array
#: (old and new module paths, every pickle protocol). Anything else (a function that runs code on load) is refused.
_PICKLE_GLOBALS = {("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): _Dtype, ("_codecs", "encode"): _encode_latin1,
                   ("__builtin__", "bytes"): _empty_bytes, ("builtins", "bytes"): _empty_bytes}
for _core in ("numpy.core", "numpy._core"):
    _PICKLE_GLOBALS.update({(f"{_core}.multiarray", "_reconstruct"): _reconstruct,
                            (f"{_core}.multiarray", "scalar"): _scalar, (f"{_core}.numeric", "_frombuffer"): _frombuffer})

#: the plain values a CIFAR batch is made of, besides numpy arrays of numbers.
_PLAIN = (dict, list, tuple, bytes, str, int, float, bool, type(None))

CIFAR_CONTENTS = "a CIFAR batch holds only a dict of bytes, str, numbers, lists and numpy arrays"


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that calls nothing but checked stand-ins for numpy's array constructors (a data file must not
    run code, nor hand numpy a malformed state)."""

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")
        return _PICKLE_GLOBALS[(module, name)]


def _reason(error: BaseException) -> str:
    """The error in a few words (malformed streams can make long messages)."""
    text = str(error)
    text = text if len(text) <= 120 else text[:117] + "..."
    return text if isinstance(error, pickle.UnpicklingError) else f"{type(error).__name__}: {text}"


def _plain(value, path: Path):
    """``value`` with every array stand-in replaced by its array (in place, iteratively: a pickle can nest deeply
    or loop); anything that is not plain data is refused."""

    def resolve(item):
        if type(item) is _Array:
            if item.array is None:
                raise ValueError(f"{path} is not a CIFAR python-pickle file: an array without its data.")
            return item.array
        if type(item) not in _PLAIN:
            raise ValueError(f"{path} is not a CIFAR python-pickle file: refusing to load a "
                             f"{type(item).__name__}; {CIFAR_CONTENTS}.")
        return item

    value = resolve(value)
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if type(item) is dict:
            for key, entry in list(item.items()):
                resolve(key)
                item[key] = resolve(entry)
                stack.append(item[key])
        elif type(item) is list:
            item[:] = [resolve(entry) for entry in item]
            stack.extend(item)
        elif type(item) is tuple:  # immutable: may hold plain values, not arrays
            if any(type(entry) is _Array for entry in item):
                raise ValueError(f"{path} is not a CIFAR python-pickle file: an array inside a tuple; {CIFAR_CONTENTS}.")
            stack.extend(resolve(entry) for entry in item)
    return value


_OPCODES = {ord(op.code): op for op in pickletools.opcodes}
_LENGTH_BYTES = {pickletools.TAKEN_FROM_ARGUMENT1: (1, False), pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
                 pickletools.TAKEN_FROM_ARGUMENT4U: (4, False), pickletools.TAKEN_FROM_ARGUMENT8U: (8, False)}


def _scan(data: bytes) -> None:
    """Walk the opcodes up to STOP without building anything: every opcode must be known and every argument,
    with the length it claims, must lie within the file (so the unpickler never allocates a claimed length
    that the file does not hold)."""
    position, end = 0, len(data)
    while position < end:
        op = _OPCODES.get(data[position])
        if op is None:
            _refuse(f"the unknown opcode {data[position]:#04x} at byte {position}")
        position += 1
        if op.arg is not None:
            size = op.arg.n
            if size >= 0:
                position += size
            elif size == pickletools.UP_TO_NEWLINE:
                for _ in range(2 if op.arg.name == "stringnl_noescape_pair" else 1):
                    newline = data.find(b"\n", position)
                    position = end + 1 if newline < 0 else newline + 1
            else:
                width, signed = _LENGTH_BYTES[size]
                length = int.from_bytes(data[position:position + width], "little", signed=signed)
                position += width + max(length, 0)
            if position > end:
                _refuse(f"{op.name} at byte {position}: it claims more bytes than the file holds (truncated?)")
        if op.name == "STOP":
            return
    _refuse("a pickle without its end (STOP): the data was truncated")


def unpickle(path: Path):
    """The plain data pickled in ``path``, read by the restricted unpickler.

    Raises:
      ValueError: naming ``path``, for an unreadable or malformed pickle (truncated, random bytes), one that
        names a global other than numpy's array constructors, or one that holds anything but plain data.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror or error}.") from None
    try:
        _scan(data)
        value = _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as error:  # noqa: BLE001 - any malformed stream: EOFError, UnpicklingError, MemoryError, …
        raise ValueError(f"{path} is not a CIFAR python-pickle file: {_reason(error)} ({CIFAR_CONTENTS}).") from None
    return _plain(value, path)


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
