"""``pad_sequences`` with the semantics of ``keras.utils.pad_sequences`` (int32 by default)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reprokit.errors import ReprokitError


def pad_sequences(sequences: Sequence[Sequence[int]], maxlen: int | None = None, dtype: str = "int32",
                  padding: str = "pre", truncating: str = "pre", value: float = 0.0) -> np.ndarray:
    """Pad or cut each sequence to ``maxlen``; ``pre``/``post`` say at which end."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ReprokitError(f"padding and truncating must be 'pre' or 'post', got {padding!r}, {truncating!r}")
    lengths = [len(s) for s in sequences]
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    out = np.full((len(sequences), maxlen), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        cut = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(cut)] = cut
        else:
            out[i, -len(cut):] = cut
    return out
