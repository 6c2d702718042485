"""The file readers (theory.data.files) on malformed and hostile files: every bad file is refused with a
ValueError naming it, and no file ever runs code (issue 11, items 3, 6 and 8)."""
import os
import pickle
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory.data import load_npz, read_cifar, read_npz

CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
FUZZ = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])


def cifar_rows(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)


def write_batch(path, batch, protocol=pickle.DEFAULT_PROTOCOL):
    with open(path, "wb") as handle:
        pickle.dump(batch, handle, protocol=protocol)


def write_cifar10(directory, n=3):
    for i, name in enumerate(CIFAR10_FILES):
        write_batch(directory / name, {b"data": cifar_rows(n, i), b"labels": [(i + k) % 10 for k in range(n)]})
    return directory


@pytest.fixture(scope="module")
def scratch():
    """A scratch directory in memory where there is one (the fuzz tests write thousands of small files)."""
    memory = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=memory if memory.is_dir() and os.access(memory, os.W_OK) else None) as name:
        yield Path(name)


@pytest.fixture(scope="module")
def cifar_dir(scratch):
    """Valid CIFAR-10 files; tests overwrite ``data_batch_1``, the first file read (examples run in sequence)."""
    directory = scratch / "cifar"
    directory.mkdir()
    write_cifar10(directory)
    valid = (directory / "data_batch_1").read_bytes()
    yield directory
    (directory / "data_batch_1").write_bytes(valid)


def refused(call, path):
    """``call()`` raises a ValueError whose message names ``path``; returns the message."""
    with pytest.raises(ValueError) as caught:
        call()
    assert str(path) in str(caught.value), str(caught.value)
    return str(caught.value)


# ------------------------------------------------------------------------------------------------ item 3: counts
@pytest.mark.parametrize("labels", [2, 4])
def test_cifar_batch_with_a_different_number_of_labels_than_images_is_refused(tmp_path, labels):
    write_cifar10(tmp_path)
    write_batch(tmp_path / "data_batch_2", {b"data": cifar_rows(3), b"labels": list(range(labels))})
    message = refused(lambda: read_cifar(tmp_path), tmp_path / "data_batch_2")
    assert f"3 images" in message and f"{labels} labels" in message


@pytest.mark.parametrize("batch, words", [
    ({b"data": cifar_rows(3)[:, :3000], b"labels": [0, 1, 2]}, r"shape \(N, 3072\)"),
    ({b"data": cifar_rows(3).astype(np.float32) / 255, b"labels": [0, 1, 2]}, "integer"),
    ({b"data": cifar_rows(3).astype(np.int64) * 2, b"labels": [0, 1, 2]}, r"\[0, 255\]"),
    ({b"data": b"\x00" * 3072, b"labels": [0]}, "b'data'"),
    ({b"data": cifar_rows(3), b"labels": [0, 1, 10]}, r"\[0, 10\)"),
    ({b"data": cifar_rows(3), b"labels": [0, 1, -1]}, r"\[0, 10\)"),
    ({b"data": cifar_rows(3), b"labels": ["0", "1", "2"]}, "integer"),
    ({b"data": cifar_rows(3), b"labels": [[0, 1], [2]]}, "labels"),
    ({b"data": cifar_rows(3), b"labels": [[0], [1], [2]]}, "1-D"),
    ({b"data": cifar_rows(3)}, "no b'data' / b'labels'"),
    ([cifar_rows(3), [0, 1, 2]], "must hold a dict"),
])
def test_cifar_batch_with_malformed_contents_is_refused_naming_the_file(tmp_path, batch, words):
    write_cifar10(tmp_path)
    write_batch(tmp_path / "test_batch", batch)
    assert re.search(words, refused(lambda: read_cifar(tmp_path), tmp_path / "test_batch"))


def test_cifar_files_without_images_are_refused(tmp_path):
    for name in CIFAR10_FILES:
        write_batch(tmp_path / name, {b"data": np.zeros((0, 3072), np.uint8), b"labels": []})
    assert "no images" in refused(lambda: read_cifar(tmp_path), tmp_path)


def save_npz(path, **arrays):
    good = dict(x_train=np.arange(24.0).reshape(12, 2), y_train=np.arange(12) % 3,
                x_test=np.arange(12.0).reshape(6, 2), y_test=np.arange(6) % 3)
    np.savez(path, **(good | arrays))
    return path


@pytest.mark.parametrize("arrays, words", [
    (dict(y_train=np.arange(11) % 3), "y_train has 11 labels but x_train has 12 points"),
    (dict(y_train=np.arange(13) % 3), "y_train has 13 labels but x_train has 12 points"),
    (dict(y_test=np.arange(5) % 3), "y_test has 5 labels but x_test has 6 points"),
    (dict(y_test=np.arange(7) % 3), "y_test has 7 labels but x_test has 6 points"),
])
def test_npz_with_a_different_number_of_labels_than_points_is_refused(tmp_path, arrays, words):
    path = save_npz(tmp_path / "set.npz", **arrays)
    assert words in refused(lambda: read_npz(path), path)
    refused(lambda: load_npz(path), path)


@pytest.mark.parametrize("arrays, words", [
    (dict(x_train=np.zeros((0, 2)), y_train=np.zeros(0, int)), "x_train holds no points"),
    (dict(x_test=np.zeros((0, 2)), y_test=np.zeros(0, int)), "x_test holds no points"),
    (dict(y_train=np.zeros(12, int), y_test=np.zeros(6, int)), "single class"),
    (dict(y_train=np.ones(12, int)), "only class 1"),
    (dict(y_train=np.arange(12) % 3 - 1), "non-negative"),
    (dict(y_train=(np.arange(12) % 3).reshape(6, 2)), "1-D"),
    (dict(x_train=np.array(["a"] * 12)), "numeric"),
    (dict(x_train=np.full((12, 2), np.nan)), "finite"),
    (dict(x_test=np.zeros((6, 3))), r"x_test must have the point shape of x_train, \(2,\)"),
    (dict(x_train=np.array(1.0)), "x_train"),
])
def test_npz_empty_single_class_and_malformed_arrays_are_refused(tmp_path, arrays, words):
    path = save_npz(tmp_path / "set.npz", **arrays)
    assert re.search(words, refused(lambda: load_npz(path), path))


def test_empty_npz_archive_and_npy_file_are_refused(tmp_path):
    empty = tmp_path / "empty.npz"
    np.savez(empty)
    assert "lacks the arrays" in refused(lambda: read_npz(empty), empty)
    single = tmp_path / "single.npz"
    np.save(single, np.zeros(3))
    (tmp_path / "single.npz.npy").rename(single)
    assert "not a .npz archive" in refused(lambda: read_npz(single), single)


# ------------------------------------------------------------------------------------------------ item 8: pickles
class RunsCommand:
    """A pickle of this runs ``os.system`` on load (with an unrestricted unpickler), creating the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvaluatesCode:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (eval, (f"__import__('pathlib').Path({self.marker!r}).touch()",))


def foreign_objects(marker):
    """Objects a CIFAR batch never holds (the first two run code when unpickled unrestricted)."""
    return [RunsCommand(marker), EvaluatesCode(marker), {1, 2}, frozenset([b"x"]), complex(1, 2), os.system,
            __import__("collections").OrderedDict(a=1), __import__("fractions").Fraction(1, 3), RuntimeError("x"),
            np.random.default_rng(0), slice(1, 2), range(3), bytearray(b"ab")]


def test_a_pickle_that_runs_a_command_is_refused_and_never_runs(cifar_dir):
    marker = cifar_dir / "marker"
    assert pickle.loads(pickle.dumps(RunsCommand(marker))) == 0 and marker.exists()  # it does run, unrestricted
    marker.unlink()
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        for payload in foreign_objects(marker):
            for batch in (payload, {b"data": cifar_rows(2), b"labels": [0, 1], b"extra": payload}):
                write_batch(cifar_dir / "data_batch_1", batch, protocol)
                message = refused(lambda: read_cifar(cifar_dir), cifar_dir / "data_batch_1")
                assert "refusing to load" in message, message
                assert not marker.exists()


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_every_truncation_of_a_valid_batch_is_refused_naming_the_file(cifar_dir, protocol):
    valid = pickle.dumps({b"data": cifar_rows(1), b"labels": [7]}, protocol=protocol)
    path = cifar_dir / "data_batch_1"
    path.write_bytes(valid)
    assert read_cifar(cifar_dir)[1][:1].tolist() == [7]
    for length in range(len(valid)):
        path.write_bytes(valid[:length])
        refused(lambda: read_cifar(cifar_dir), path)


@FUZZ
@given(content=st.binary(max_size=400) | st.builds(lambda tail: b"\x80\x04" + tail, st.binary(max_size=400)))
def test_random_bytes_are_refused_naming_the_file(cifar_dir, content):
    path = cifar_dir / "data_batch_1"
    path.write_bytes(content)
    refused(lambda: read_cifar(cifar_dir), path)


@FUZZ
@given(data=st.data(), protocol=st.sampled_from([0, 2, 4, 5]))
def test_mutated_batches_load_correctly_or_are_refused_and_never_run_code(cifar_dir, data, protocol):
    """Random byte edits of a valid batch that embeds a command: a load either succeeds with CIFAR shapes or
    raises a ValueError naming the file; the command never runs."""
    marker = cifar_dir / "mutation-marker"
    template = bytearray(pickle.dumps({b"data": cifar_rows(1), b"labels": [3], b"x": [b"y", 1, "z"]}, protocol))
    if data.draw(st.booleans(), "append a command"):
        template += pickle.dumps(RunsCommand(marker), protocol)
    for _ in range(data.draw(st.integers(1, 4), "edits")):
        where = data.draw(st.integers(0, len(template) - 1), "position")
        template[where] = data.draw(st.integers(0, 255), "byte")
    path = cifar_dir / "data_batch_1"
    path.write_bytes(bytes(template))
    try:
        x_train, y_train, _, _, classes = read_cifar(cifar_dir)
    except ValueError as error:
        assert str(path) in str(error)
    else:
        assert x_train.shape == (len(y_train), 32, 32, 3) and x_train.dtype == np.uint8
        assert y_train.dtype == np.int64 and np.all((0 <= y_train) & (y_train < classes))
    assert not marker.exists()


# ------------------------------------------------------------------------------------------------ item 8: npz
def test_npz_object_arrays_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "marker"
    path = save_npz(tmp_path / "set.npz", x_train=np.array([RunsCommand(marker)] * 12, dtype=object))
    assert "object" in refused(lambda: read_npz(path), path).lower()
    assert not marker.exists()
    np.save(tmp_path / "plain.npy", np.array([RunsCommand(marker)], dtype=object))
    refused(lambda: read_npz(tmp_path / "plain.npy"), tmp_path / "plain.npy")
    assert not marker.exists()


def test_every_truncation_of_a_valid_npz_is_refused_naming_the_file(scratch):
    valid = save_npz(scratch / "valid.npz").read_bytes()
    path = scratch / "cut.npz"
    for length in range(len(valid)):
        path.write_bytes(valid[:length])
        refused(lambda: read_npz(path), path)


@FUZZ
@given(content=st.binary(max_size=600) | st.builds(lambda tail: b"PK\x03\x04" + tail, st.binary(max_size=600))
       | st.builds(lambda tail: b"\x93NUMPY\x01\x00" + tail, st.binary(max_size=300)))
def test_random_bytes_as_npz_are_refused_naming_the_file(scratch, content):
    path = scratch / "random.npz"
    path.write_bytes(content)
    refused(lambda: read_npz(path), path)


def test_npz_member_that_is_not_an_array_is_refused(tmp_path):
    path = save_npz(tmp_path / "set.npz")
    with warnings.catch_warnings(), zipfile.ZipFile(path, "a") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        archive.writestr("x_train.npy", b"not an array")  # a second, corrupt member of the same name
    refused(lambda: read_npz(path), path)


# ------------------------------------------------------------------------------------------------ item 8: arrays
@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_numeric_arrays_of_every_layout_load_exactly(cifar_dir, protocol):
    from theory.data._safe_load import unpickle

    arrays = [np.arange(6, dtype=">i4").reshape(2, 3), np.arange(6, dtype="<f8").reshape(3, 2),
              np.asfortranarray(np.arange(12, dtype=np.uint8).reshape(3, 4)), np.array([True, False]),
              np.zeros((0, 3072), np.uint8), np.arange(5, dtype=np.int16)[::2]]
    path = cifar_dir / "arrays"
    for array in arrays:
        path.write_bytes(pickle.dumps({b"a": array, b"s": np.int64(7), b"l": [array, 1.5, (1, b"x")], b"e": b""},
                                      protocol))
        value = unpickle(path)
        assert value[b"a"].dtype == array.dtype and np.array_equal(value[b"a"], array)
        assert np.array_equal(value[b"l"][0], array) and value[b"l"][1:] == [1.5, (1, b"x")]
        assert value[b"s"] == 7 and value[b"e"] == b""


class MalformedDtype:
    """Pickles as numpy.dtype('u1') with a malformed state (numpy's own dtype.__setstate__ crashes on such)."""

    def __reduce__(self):
        return (np.dtype, ("u1", False, True), (3, "|", None, -1, -1, 0))


class StringArray:
    """Pickles as an ndarray of 8-byte strings (not a numeric dtype)."""

    def __reduce__(self):
        return np.array([b"a", b"b"]).__reduce__()


@pytest.mark.parametrize("payload", [MalformedDtype(), StringArray(), np.array([1, "a"], dtype=object)])
def test_array_states_are_checked_not_handed_to_numpy(cifar_dir, payload):
    path = cifar_dir / "data_batch_1"
    write_batch(path, {b"data": cifar_rows(1), b"labels": [0], b"extra": payload}, protocol=2)
    assert "refusing" in refused(lambda: read_cifar(cifar_dir), path)


def test_a_length_beyond_the_end_of_the_file_is_refused_before_it_is_allocated(cifar_dir):
    path = cifar_dir / "data_batch_1"
    path.write_bytes(b"\x80\x05\x96" + (2**44).to_bytes(8, "little") + b"abc.")  # BYTEARRAY8 claiming 16 TiB
    assert "BYTEARRAY8" in refused(lambda: read_cifar(cifar_dir), path)
