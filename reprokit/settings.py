"""Run-wide settings, set by the pytest plugin (or a caller) before claims run.

Every path reprokit writes or reads resolves against the project root (the pytest rootdir, or
the folder ``reprokit`` finds holding ``expected/``), never the working directory: a run started
from ``tests/`` uses the same ledger and cache as one started from the root. Environment values
are checked where they are read, with one message that says what to set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from reprokit.errors import ReprokitError

PROFILE = "quick"
SEEDS: int | None = None  # None: each experiment's seed budget (Experiment.seed_budget)
RETRAIN = False  # True: train even where the ledger or the run cache already holds the run


def retrain_since() -> float | None:
    """Under ``--retrain``: when the session began (``$REPROKIT_RETRAIN_SINCE``, set by the plugin and
    inherited by xdist workers); runs cached before it are trained again."""
    if not RETRAIN:
        return None
    value = os.environ.get("REPROKIT_RETRAIN_SINCE")
    return float(value) if value else 0.0


def find_root(start: Path | None = None) -> Path:
    """The nearest folder from ``start`` (the working directory) up that holds ``expected/`` and a
    ``pyproject.toml``; the working directory where there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "expected").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return here


def env_path(var: str, default: Path | None = None) -> Path | None:
    """A folder named by an environment variable; a relative one is relative to the project root
    (so ``REPROKIT_DATA_DIR=../shared/data`` means the same from ``tests/`` as from the root)."""
    value = os.environ.get(var, "").strip()
    return (ROOT / Path(value).expanduser()).resolve() if value else default


ROOT = find_root()
CACHE_DIR = env_path("REPROKIT_CACHE_DIR", ROOT / ".reprokit-cache")  # runs trained here, for reuse
RESULTS_DIR = env_path("REPROKIT_RESULTS_DIR", ROOT / "results")  # the committed ledger
# The documents' files: their claims, models and experiments (``--expected DIR`` sets the variable,
# so xdist workers and training jobs read the same declarations)
EXPECTED_DIR = env_path("REPROKIT_EXPECTED_DIR", ROOT / "expected")


def use_root(root: Path) -> None:
    """Resolve the default paths against ``root`` (the pytest plugin passes its rootdir)."""
    global ROOT, CACHE_DIR, RESULTS_DIR, EXPECTED_DIR
    ROOT = Path(root).resolve()
    CACHE_DIR = env_path("REPROKIT_CACHE_DIR", ROOT / ".reprokit-cache")
    RESULTS_DIR = env_path("REPROKIT_RESULTS_DIR", ROOT / "results")
    EXPECTED_DIR = env_path("REPROKIT_EXPECTED_DIR", ROOT / "expected")


def use_expected(folder: Path) -> Path:
    """Read the documents' declarations from ``folder`` in this process and in the processes it starts."""
    global EXPECTED_DIR
    EXPECTED_DIR = Path(folder).resolve()
    os.environ["REPROKIT_EXPECTED_DIR"] = str(EXPECTED_DIR)
    return EXPECTED_DIR


def documents_dir() -> Path:
    """The source documents the claims quote: ``$REPROKIT_DOCUMENTS_DIR``, else ``../shared/seeds``
    beside the project (this project's layout)."""
    return env_path("REPROKIT_DOCUMENTS_DIR", ROOT.parent / "shared" / "seeds")


def env_int(var: str, default: int | None, minimum: int = 1) -> int | None:
    """A whole-number environment variable, or ``default`` where unset; one clear error otherwise."""
    value = os.environ.get(var, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise ReprokitError(f"{var}={value!r}: give a whole number >= {minimum}, or unset it")
    return int(value)


def env_flag(var: str, default: bool) -> bool:
    """A 0/1 environment switch, or ``default`` where unset; one clear error otherwise."""
    value = os.environ.get(var, "").strip()
    if not value:
        return default
    if value not in ("0", "1"):
        raise ReprokitError(f"{var}={value!r}: give 1 (on) or 0 (off), or unset it")
    return value == "1"


def limit_threads(threads: int) -> None:
    """Run this process's frameworks on ``threads`` threads each: set before they are imported (they
    read it once); a value the environment already gives wins."""
    for var in ("REPROKIT_THREADS", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def pin_cores(threads: int, worker: int) -> None:
    """Keep this process on its own ``threads`` cores (xdist worker ``worker``'s share). For Keras on
    JAX: XLA's CPU pool takes a thread per schedulable core and reads no thread variable (jax issue
    1539), so two workers would each run on both cores."""
    cores = sorted(os.sched_getaffinity(0))
    start = (worker * threads) % len(cores)
    os.sched_setaffinity(0, cores[start:start + threads] or cores[:threads])


def device() -> str:
    """The device trainings run on: ``$REPROKIT_DEVICE`` (set by ``--reprokit-device`` and
    inherited by xdist workers and jobs), ``cpu`` (the default), ``cuda`` or ``cuda:N``."""
    value = os.environ.get("REPROKIT_DEVICE", "").strip() or "cpu"
    return check_device(value, "REPROKIT_DEVICE")


def check_device(value: str, where: str = "--reprokit-device") -> str:
    if not re.fullmatch(r"cpu|cuda(:\d+)?", value):
        raise ReprokitError(f"{where}={value!r}: give cpu, cuda or cuda:N (e.g. cuda:1)")
    return value
