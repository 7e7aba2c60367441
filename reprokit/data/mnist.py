"""MNIST with the semantics of ``keras.datasets.mnist.load_data`` (no shuffle), verified by content."""

from __future__ import annotations

import functools

import numpy as np

from reprokit.data import files

DIGEST = "52cd6c10ae77107af32269dd9d10ca19c1b749e83235a0c75e2f0729ebeaf141"


@functools.lru_cache(maxsize=1)
def load() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and uint8 labels."""
    path = files.locate("mnist.npz", files.keras_download)
    a = files.read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
    files.check_layout(path, a, {"x_train": ((60000, 28, 28), "u"), "y_train": ((60000,), "u"),
                                 "x_test": ((10000, 28, 28), "u"), "y_test": ((10000,), "u")})
    files.check(path, "mnist.npz", DIGEST, files.digest(a["x_train"], a["y_train"], a["x_test"], a["y_test"]))
    return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])


def rows(images: np.ndarray) -> np.ndarray:
    """Images as sequences read row by row (N, 28 steps, 28 features), scaled to [0, 1] as
    torchvision's ``ToTensor`` does for document 004."""
    return images.astype(np.float32) / 255.0
