"""IMDB reviews with the exact semantics of ``keras.datasets.imdb`` (Keras 3.15).

``load`` returns what ``keras.datasets.imdb.load_data`` returns for the same arguments, read from
the offline copy and verified by content. ``word_index`` and ``decode`` do what the documents do
with ``imdb.get_word_index()``.
"""

from __future__ import annotations

import functools
import hashlib
import json

import numpy as np

from reprokit.data import files
from reprokit.errors import DataError

# Content fingerprints of the raw arrays (reprokit.data.files.ragged_digest / digest).
DIGESTS = {
    "x_train": "b725a5b799a18ec3bc0520dc8630e4a507e90ed8b204a6861eac5c1c7153739f",
    "x_test": "abd0231e35b5062ca3528cd89e0e2db4a775c576b44a23cd7429eedba0fdc0aa",
    "y": "05c2e70ab85370173631589f126fb39809a375db853aacbb2ed77f2580107fab",
    "word_index": "b7b54ffb5a0238c287bd9075300d166721bb0176a907c58cf96bc1d7b17fc697",
}
WORD_INDEX_SIZE = 88584


@functools.lru_cache(maxsize=1)
def raw() -> dict[str, np.ndarray]:
    """The arrays of imdb.npz as stored (word ids from 1, no start char), verified by content."""
    path = files.locate("imdb.npz", files.keras_download)
    arrays = files.read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
    files.check_layout(path, arrays, {"x_train": ((25000,), "O"), "x_test": ((25000,), "O"),
                                      "y_train": ((25000,), "i"), "y_test": ((25000,), "i")})
    for key in ("x_train", "x_test"):
        files.check(path, "imdb.npz", DIGESTS[key], files.ragged_digest(arrays[key]))
    files.check(path, "imdb.npz", DIGESTS["y"], files.digest(arrays["y_train"], arrays["y_test"]))
    return arrays


@functools.lru_cache(maxsize=4)  # callers share the arrays: treat them as read-only
def load(num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None, seed: int = 113,
         start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3
         ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` exactly as ``keras.datasets.imdb.load_data``.

    ``x_*`` are object arrays of Python lists of word ids; ``y_*`` int64 labels.
    """
    data = raw()
    rng = np.random.RandomState(seed)  # one generator: train shuffled first, then test
    idx_train = np.arange(len(data["x_train"]))
    rng.shuffle(idx_train)
    idx_test = np.arange(len(data["x_test"]))
    rng.shuffle(idx_test)
    x_train, y_train = data["x_train"][idx_train], data["y_train"][idx_train]
    x_test, y_test = data["x_test"][idx_test], data["y_test"][idx_test]

    prefix = [start_char] if start_char is not None else []
    offset = index_from if (start_char is not None or index_from) else 0
    x_train = [prefix + [w + offset for w in x] for x in x_train]
    x_test = [prefix + [w + offset for w in x] for x in x_test]

    if maxlen:  # Keras keeps sequences *shorter* than maxlen
        keep_train = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        keep_test = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        if not keep_train or not keep_test:
            raise DataError(f"after filtering for sequences shorter than maxlen={maxlen}, "
                            "no sequence was kept. Increase maxlen.")
        x_train, y_train = [x_train[i] for i in keep_train], y_train[keep_train]
        x_test, y_test = [x_test[i] for i in keep_test], y_test[keep_test]

    xs = x_train + x_test
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    n = len(x_train)
    return (_objects(xs[:n]), y_train), (_objects(xs[n:]), y_test)


def _objects(lists: list[list[int]]) -> np.ndarray:
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


@functools.lru_cache(maxsize=1)
def word_index() -> dict[str, int]:
    """``keras.datasets.imdb.get_word_index()``: word -> rank (1 = most frequent)."""
    path = files.locate("imdb_word_index.json", files.keras_download)
    try:
        index = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc}). Replace it with the original. "
                        f"{files.HOW_TO_PROVIDE}") from None
    if not isinstance(index, dict):
        raise DataError(f"{path} holds a {type(index).__name__}, not a word -> id mapping. "
                        f"{files.HOW_TO_PROVIDE}")
    files.check(path, "imdb_word_index.json", DIGESTS["word_index"], word_index_digest(index))
    return index


def word_index_digest(index: dict[str, int]) -> str:
    return hashlib.sha256(json.dumps(sorted(index.items())).encode()).hexdigest()


def decode(ids: list[int], index_from: int = 3, unknown: str = "?") -> str:
    """Words of a review, as the documents decode it: ``reverse_index.get(i - 3, '?')``."""
    reverse = {v: k for k, v in word_index().items()}
    return " ".join(reverse.get(i - index_from, unknown) for i in ids)
