"""A disk cache of training runs, shared by tests and xdist workers.

Keyed by everything that determines a result (recipe, backend, seed, data digest, library
versions); written atomically (temporary file + rename), so a killed run leaves no partial entry;
locked per entry, so parallel workers never train the same run twice; an unreadable entry is
redone, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock

from reprokit import settings


def path(key: dict, label: str) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(settings.CACHE_DIR) / f"{label}-{digest}.json"


def _read(path: Path, key: dict) -> dict | None:
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry["result"] if isinstance(entry, dict) and entry.get("key") == key and "result" in entry else None


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the entry is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(key: dict, label: str) -> dict[str, Any] | None:
    """The cached result of this run, if any."""
    return _read(path(key, label), key)


def write(key: dict, label: str, result: dict) -> None:
    write_atomic(path(key, label), json.dumps({"key": key, "result": result}))


def get_or_compute(key: dict, label: str, compute: Callable[[], dict]) -> dict[str, Any]:
    entry = path(key, label)
    if (hit := _read(entry, key)) is not None:
        return hit
    entry.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(entry) + ".lock"):
        if (hit := _read(entry, key)) is not None:  # another worker finished it while we waited
            return hit
        result = compute()
        write(key, label, result)
        return result
