"""Seeded generators for the two synthetic tasks of document 004.

The document generates both "on the fly"; the choices it leaves open are fixed here and
recorded next to the claims in ``expected/004_*.yaml``.
"""

from __future__ import annotations

import numpy as np


def index_task(n: int, k: int, rng: np.random.Generator, min_len: int = 3, max_len: int = 10
               ) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` sequences of ``min_len``..``max_len`` random digits and, as target, the digit at
    position ``k`` (1-based, as the document's examples show: K=3 on [6, 8, 0, 2, 8, 7] -> 0)."""
    if not 1 <= k <= min_len:
        raise ValueError(f"k={k} must lie in 1..{min_len} so that every sequence has a position k")
    lengths = rng.integers(min_len, max_len + 1, size=n)
    seqs = [rng.integers(0, 10, size=int(length)) for length in lengths]
    targets = np.array([s[k - 1] for s in seqs], dtype=np.int64)
    return seqs, targets


def one_hot(digits: np.ndarray, depth: int = 10) -> np.ndarray:
    """(..., ) ints -> (..., depth) float32 one-hot: the document's input size 10."""
    return np.eye(depth, dtype=np.float32)[digits]


def binary_addition(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` additions of two random ``length``-bit numbers, least significant bit first.

    Inputs (n, length + 1, 2): the bit pairs plus one (0, 0) step so the carry can come out;
    targets (n, length + 1): the bits of the sum, one per step.
    """
    a = rng.integers(0, 2, size=(n, length))
    b = rng.integers(0, 2, size=(n, length))
    x = np.zeros((n, length + 1, 2), dtype=np.float32)
    x[:, :length, 0], x[:, :length, 1] = a, b
    weights = 2 ** np.arange(length, dtype=np.int64)
    total = (a * weights).sum(1) + (b * weights).sum(1)
    y = ((total[:, None] >> np.arange(length + 1)) & 1).astype(np.float32)
    return x, y
