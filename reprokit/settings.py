"""Run-wide settings, set by the pytest plugin (or a caller) before claims run."""

from __future__ import annotations

import os
from pathlib import Path

PROFILE = "quick"
SEEDS: int | None = None  # None: the profile's default
RETRAIN = False  # True: train even where the ledger already records the identical run
DEFAULT_SEEDS = {"quick": 3, "full": 3}
CACHE_DIR = Path(os.environ.get("REPROKIT_CACHE_DIR", ".reprokit-cache"))
RESULTS_DIR = Path(os.environ.get("REPROKIT_RESULTS_DIR", "results"))  # the committed ledger


def seeds() -> list[int]:
    return list(range(SEEDS or DEFAULT_SEEDS[PROFILE]))
