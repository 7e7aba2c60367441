"""Run-wide settings, set by the pytest plugin (or a caller) before claims run."""

from __future__ import annotations

import os
from pathlib import Path

PROFILE = "quick"
SEEDS: int | None = None  # None: each family's seed budget (experiments.SEED_BUDGET)
RETRAIN = False  # True: train even where the ledger already records the identical run
CACHE_DIR = Path(os.environ.get("REPROKIT_CACHE_DIR", ".reprokit-cache"))
RESULTS_DIR = Path(os.environ.get("REPROKIT_RESULTS_DIR", "results"))  # the committed ledger

