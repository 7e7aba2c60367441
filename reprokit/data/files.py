"""Finding the data files and reading them safely, checked by content.

Resolution order for a file name: ``$REPROKIT_DATA_DIR``, then the Keras cache
(``~/.keras/datasets``), then Keras's own download, and only where ``REPROKIT_DATA_DIR`` is unset.
Files are verified by a digest of their *arrays*, not of their bytes: the offline copies are
content-exact reconstructions whose bytes differ from Keras's files.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from reprokit.errors import DataError

ENV = "REPROKIT_DATA_DIR"
KERAS_CACHE = Path("~/.keras/datasets")

# Where Keras downloads each file from, with the hash of *its* bytes (used only for downloads).
ORIGINS = {
    "imdb.npz": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz",
                 "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
    "imdb_word_index.json": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json",
                             None),
    "mnist.npz": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                  "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
}

HOW_TO_PROVIDE = (
    "Set REPROKIT_DATA_DIR to a folder holding imdb.npz, imdb_word_index.json and mnist.npz "
    "(in this project: REPROKIT_DATA_DIR=../shared/data), or put them in ~/.keras/datasets."
)


def data_dir() -> Path | None:
    """``$REPROKIT_DATA_DIR``; a relative one is relative to the project root, not the working directory."""
    from reprokit import settings
    return settings.env_path(ENV)


def candidates(name: str) -> list[Path]:
    """The places searched for ``name``, in order."""
    places = []
    if data_dir():
        places.append(data_dir() / name)
    places.append(KERAS_CACHE.expanduser() / name)
    return places


def locate(name: str, download: Callable[[str], Path] | None = None) -> Path:
    """Return the path of data file ``name`` or raise a DataError saying how to provide it.

    ``download`` is tried last and never when ``REPROKIT_DATA_DIR`` is set, so a run with the
    variable set makes no network connection.
    """
    env = os.environ.get(ENV, "").strip()
    if env and not data_dir().is_dir():
        raise DataError(f"{ENV}={env!r} is not a folder ({data_dir()}). {HOW_TO_PROVIDE}")
    for path in candidates(name):
        if path.is_file():
            return path
    searched = ", ".join(str(p) for p in candidates(name))
    if env or download is None:
        raise DataError(f"data file {name!r} not found (searched {searched}). {HOW_TO_PROVIDE}")
    try:
        return download(name)
    except Exception as exc:  # any failure of the download is the same problem for the user
        raise DataError(f"data file {name!r} not found (searched {searched}) and its download failed "
                        f"({type(exc).__name__}: {exc}). {HOW_TO_PROVIDE}") from None


def keras_download(name: str) -> Path:
    """Fetch ``name`` the way Keras does (its cache, its hash check)."""
    from keras.utils import get_file  # heavy: only when a download is really needed

    origin, file_hash = ORIGINS[name]
    return Path(get_file(fname=name, origin=origin, file_hash=file_hash))


# numpy object arrays are pickles; only the three globals that rebuild an array may be loaded,
# so a tampered .npz cannot run code (the same rule as keras.src.datasets.npz_utils).
_ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Read ``keys`` from an .npz file, object arrays through a restricted unpickler."""
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for key in keys:
                if key + ".npy" not in archive.namelist():
                    raise DataError(f"{path} lacks array {key!r} (it holds {', '.join(sorted(archive.namelist()))}): "
                                    f"not the expected data file. Replace it with the original. {HOW_TO_PROVIDE}")
                with archive.open(key + ".npy") as member:
                    raw = io.BytesIO(member.read())
                version = np.lib.format.read_magic(raw)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(raw)
                if dtype.hasobject:
                    arr = _ArrayUnpickler(raw).load()
                else:
                    arr = np.frombuffer(raw.read(), dtype=dtype).reshape(shape, order="F" if fortran else "C")
                if arr.shape != shape:
                    raise ValueError(f"array {key!r} has shape {arr.shape}, header says {shape}")
                out[key] = arr
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, pickle.UnpicklingError) as exc:
        raise DataError(f"{path} is corrupt or truncated ({type(exc).__name__}: {exc}). "
                        f"Replace it with the original. {HOW_TO_PROVIDE}") from None
    return out


def digest(*arrays: np.ndarray) -> str:
    """sha256 over shapes, dtypes and bytes of plain (non-object) arrays: a content fingerprint."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def ragged_digest(seqs: np.ndarray) -> str:
    """Fingerprint of an object array of int lists: the lengths and all ids as int64."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    flat = np.fromiter((w for s in seqs for w in s), dtype=np.int64, count=int(lengths.sum()))
    return digest(lengths, flat)


def check_layout(path: Path, arrays: dict[str, np.ndarray], layout: dict[str, tuple[tuple, str]]) -> None:
    """Each array's shape and dtype kind as the loaders expect (before the content digest, so a
    wrong file is named for what is wrong with it)."""
    for key, (shape, kind) in layout.items():
        a = arrays[key]
        if a.shape != shape or a.dtype.kind != kind:
            raise DataError(f"{path}: array {key!r} has shape {a.shape} and dtype {a.dtype}, expected shape "
                            f"{shape} of {dict(u='unsigned integers', i='integers', O='lists of word ids').get(kind, kind)}. "
                            f"Not the original file: replace it. {HOW_TO_PROVIDE}")


def check(path: Path, name: str, expected: str, actual: str) -> None:
    if expected != actual:
        raise DataError(f"{path}: the content of {name} differs from the data the claims were written "
                        f"against (digest {actual[:12]}…, expected {expected[:12]}…). The file is "
                        f"corrupt or a different version. Replace it with the original. {HOW_TO_PROVIDE}")
