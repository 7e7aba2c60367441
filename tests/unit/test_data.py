"""The loaders give exactly what Keras's own loaders give on the same files."""

from pathlib import Path

import numpy as np
import pytest

from reprokit.data import files, imdb, mnist, synthetic
from reprokit.data.sequences import pad_sequences
from reprokit.errors import DataError

@pytest.fixture(scope="module")
def keras():
    """Keras, imported by the tests that compare with it: collecting this module imports no framework."""
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def keras_imdb(keras):
    """keras.datasets.imdb.load_data reading our offline file (its download is bypassed: the
    reconstructed file's bytes differ from Keras's, its arrays do not)."""
    from keras.src.datasets import imdb as kimdb

    path = files.locate("imdb.npz")
    original = kimdb.get_file
    kimdb.get_file = lambda *a, **k: str(path)
    yield kimdb.load_data
    kimdb.get_file = original


@pytest.mark.parametrize("kwargs", [
    {"num_words": 2000}, {"num_words": 10000}, {}, {"num_words": 500, "skip_top": 20, "maxlen": 100},
    {"start_char": None, "index_from": 0, "num_words": 300}, {"oov_char": None, "num_words": 50, "seed": 7},
])
def test_imdb_load_matches_keras(keras_imdb, kwargs):
    (kx, ky), (kxs, kys) = keras_imdb(**kwargs)
    (x, y), (xs, ys) = imdb.load(**kwargs)
    assert np.array_equal(ky, y) and np.array_equal(kys, ys)
    assert len(kx) == len(x) and all(a == b for a, b in zip(kx, x))
    assert len(kxs) == len(xs) and all(a == b for a, b in zip(kxs, xs))


def test_imdb_facts_from_the_data_readme():
    (x, y), (xs, ys) = imdb.load()
    assert len(x[0]) == 218 and x[0][-5:] == [16, 5345, 19, 178, 32]
    assert x[1][:4] == [1, 194, 1153, 194] and len(x[1]) == 189
    assert list(y[:10]) == [1, 0, 0, 1, 0, 0, 1, 0, 1, 0]
    assert xs[0][:4] == [1, 591, 202, 14] and len(xs[0]) == 68 and ys[0] == 0
    # num_words=None: Keras takes the largest id as num_words, so that id itself becomes oov (2)
    assert max(max(s) for s in np.concatenate([x, xs])) == 88586
    assert round(np.mean([len(s) for s in x]), 5) == 238.71364


def test_word_index_and_decoding():
    assert len(imdb.word_index()) == imdb.WORD_INDEX_SIZE
    (_, _), (xs, _) = imdb.load(num_words=10000)
    assert imdb.decode(xs[0]).startswith("? please give this one a miss br br")


def test_mnist_matches_keras(keras):
    from keras.src.datasets import mnist as kmnist

    original = kmnist.get_file
    kmnist.get_file = lambda *a, **k: str(files.locate("mnist.npz"))
    try:
        (kx, ky), (kxs, kys) = kmnist.load_data()
    finally:
        kmnist.get_file = original
    (x, y), (xs, ys) = mnist.load()
    for a, b in ((kx, x), (ky, y), (kxs, xs), (kys, ys)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert list(np.bincount(ys)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [None, 1, 7, 30])
def test_pad_sequences_matches_keras(keras, padding, truncating, maxlen):
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(1, 100, size=n)) for n in rng.integers(0, 40, size=50)]
    ours = pad_sequences(seqs, maxlen, padding=padding, truncating=truncating)
    theirs = keras.utils.pad_sequences(seqs, maxlen, padding=padding, truncating=truncating)
    assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_index_task_targets_are_the_kth_digit():
    seqs, targets = synthetic.index_task(200, 3, np.random.default_rng(1))
    assert all(3 <= len(s) <= 10 for s in seqs)
    assert all(s[2] == t for s, t in zip(seqs, targets))
    again, _ = synthetic.index_task(200, 3, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(seqs, again))


def test_binary_addition_targets_are_the_sum():
    x, y = synthetic.binary_addition(100, 6, np.random.default_rng(2))
    w = 2 ** np.arange(7)
    assert np.array_equal((x[..., 0] * w).sum(1) + (x[..., 1] * w).sum(1), (y * w).sum(1))


# -- errors ------------------------------------------------------------------------------------

def test_missing_file_says_what_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv(files.ENV, str(tmp_path))
    monkeypatch.setattr(files, "KERAS_CACHE", tmp_path / "no-cache")
    with pytest.raises(DataError, match=r"'mnist.npz' not found .*REPROKIT_DATA_DIR"):
        files.locate("mnist.npz", download=lambda name: pytest.fail("must not download"))


def test_env_pointing_nowhere(monkeypatch, tmp_path):
    monkeypatch.setenv(files.ENV, str(tmp_path / "absent"))
    with pytest.raises(DataError, match="is not a folder"):
        files.locate("imdb.npz")


def test_truncated_npz_is_reported(tmp_path):
    broken = tmp_path / "mnist.npz"
    broken.write_bytes(Path(files.locate("mnist.npz")).read_bytes()[:100_000])
    with pytest.raises(DataError, match="corrupt or truncated"):
        files.read_npz(broken, ("x_train",))


def test_changed_content_is_detected(tmp_path, monkeypatch):
    (x, y), (xs, ys) = mnist.load()
    y2 = y.copy()
    y2[0] = (y2[0] + 1) % 10
    np.savez_compressed(tmp_path / "mnist.npz", x_train=x, y_train=y2, x_test=xs, y_test=ys)
    monkeypatch.setenv(files.ENV, str(tmp_path))
    mnist.load.cache_clear()
    try:
        with pytest.raises(DataError, match="differs from the data the claims were written against"):
            mnist.load()
    finally:
        mnist.load.cache_clear()


def test_pickled_code_is_refused(tmp_path):
    import pickle
    import zipfile

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    import io

    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as z:
        z.writestr("x_train.npy", member.getvalue() + pickle.dumps(Evil()))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        files.read_npz(tmp_path / "evil.npz", ("x_train",))


@pytest.fixture
def fresh_loaders():
    """Loaders re-read their files (their lru caches cleared before and after)."""
    for f in (mnist.load, imdb.raw, imdb.word_index):
        f.cache_clear()
    yield
    for f in (mnist.load, imdb.raw, imdb.word_index):
        f.cache_clear()


def _mnist_copy(tmp_path, monkeypatch, **replace):
    (x, y), (xs, ys) = mnist.load()
    arrays = {"x_train": x, "y_train": y, "x_test": xs, "y_test": ys, **replace}
    np.savez(tmp_path / "mnist.npz", **{k: v for k, v in arrays.items() if v is not None})
    monkeypatch.setenv(files.ENV, str(tmp_path))


def test_wrong_dtype_is_named(tmp_path, monkeypatch, fresh_loaders):
    (x, _), _ = mnist.load()
    _mnist_copy(tmp_path, monkeypatch, x_train=x.astype(np.float32) / 255)
    mnist.load.cache_clear()
    with pytest.raises(DataError, match=r"array 'x_train' has shape \(60000, 28, 28\) and dtype float32, "
                                        r"expected shape \(60000, 28, 28\) of unsigned integers"):
        mnist.load()


def test_wrong_shape_is_named(tmp_path, monkeypatch, fresh_loaders):
    (x, _), _ = mnist.load()
    _mnist_copy(tmp_path, monkeypatch, x_train=x.reshape(60000, 784))
    mnist.load.cache_clear()
    with pytest.raises(DataError, match=r"array 'x_train' has shape \(60000, 784\)"):
        mnist.load()


def test_missing_array_is_named(tmp_path, monkeypatch, fresh_loaders):
    _mnist_copy(tmp_path, monkeypatch, y_test=None)
    mnist.load.cache_clear()
    with pytest.raises(DataError, match=r"mnist.npz lacks array 'y_test' \(it holds x_test.npy, x_train.npy, y_train.npy\)"):
        mnist.load()


def test_word_index_that_does_not_match(tmp_path, monkeypatch, fresh_loaders):
    import json
    index = dict(imdb.word_index())
    index["the"], index["and"] = index["and"], index["the"]
    for name in ("imdb.npz", "mnist.npz"):
        (tmp_path / name).symlink_to(files.locate(name))
    (tmp_path / "imdb_word_index.json").write_text(json.dumps(index))
    monkeypatch.setenv(files.ENV, str(tmp_path))
    imdb.word_index.cache_clear()
    with pytest.raises(DataError, match="imdb_word_index.json differs from the data the claims were written against"):
        imdb.word_index()


@pytest.mark.parametrize("text, message", [("{not json", "is not valid JSON"), ("[1, 2]", "holds a list")])
def test_word_index_that_is_not_a_mapping(tmp_path, monkeypatch, fresh_loaders, text, message):
    (tmp_path / "imdb_word_index.json").write_text(text)
    monkeypatch.setenv(files.ENV, str(tmp_path))
    with pytest.raises(DataError, match=message):
        imdb.word_index()


def test_empty_file_is_reported(tmp_path):
    (tmp_path / "imdb.npz").write_bytes(b"")
    with pytest.raises(DataError, match="corrupt or truncated"):
        files.read_npz(tmp_path / "imdb.npz", ("x_train",))


def test_no_network_with_the_data_folder_set(fresh_loaders):
    """With REPROKIT_DATA_DIR set (CI sets it) the suite runs with the network blocked: every
    loader reads its folder, and an attempt to connect raises instead of downloading."""
    import urllib.request

    from reprokit import offline

    with offline.blocked():
        with pytest.raises(offline.NetworkBlocked, match="REPROKIT_DATA_DIR"):
            urllib.request.urlopen("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz", timeout=5)
        assert mnist.load()[0][0].shape == (60000, 28, 28)
        assert len(imdb.load(num_words=2000)[0][0]) == 25000
        assert imdb.word_index()["the"] == 1
        files.locate("mnist.npz", download=lambda name: pytest.fail("must not download"))


def test_the_session_runs_offline():
    """The project's conftest installed the guard for this whole session (CI sets the folder)."""
    import os
    import socket

    from reprokit import offline

    if not os.environ.get(files.ENV):
        pytest.skip("REPROKIT_DATA_DIR is not set: the suite may download, so it is not blocked")
    with pytest.raises(offline.NetworkBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: never routable
