"""A disk cache of training runs, shared by tests and xdist workers.

Keyed by everything that determines a result (recipe, backend, seed, data digest, library
versions); written atomically (temporary file + rename), so a killed run leaves no partial entry;
locked per entry, so parallel workers never train the same run twice; an unreadable entry is
redone, never trusted. Under ``--retrain`` an entry older than the session
(``settings.retrain_since()``) is a miss: the run is trained again, once per session.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from filelock import FileLock

from reprokit import settings
from reprokit.errors import ReprokitError


def path(key: dict, label: str) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return inside(Path(settings.CACHE_DIR), f"{label}-{digest}.json")


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, which must stay inside ``root`` once resolved (no "..", no absolute
    part, no symbolic link leading out): every ledger and cache file is placed through here."""
    target = Path(root) / relative
    if Path(relative).is_absolute() or ".." in Path(relative).parts or \
            not target.resolve().is_relative_to(Path(root).resolve()):
        raise ReprokitError(f"{relative!r} would be written outside {root}: a name must be a plain name "
                            f"(letters, digits, '.', '_', '-'; no '/' or '..'), and no link may lead out of the folder")
    return target


def _read(path: Path, key: dict) -> dict | None:
    since = settings.retrain_since()
    try:
        if since is not None and path.stat().st_mtime < since:
            return None  # from before this --retrain session
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry["result"] if isinstance(entry, dict) and entry.get("key") == key and "result" in entry else None


def unwritable(path: Path, exc: OSError, fix: str) -> ReprokitError:
    """The one-line error for a file reprokit cannot write."""
    return ReprokitError(f"cannot write {path}: {exc.strerror or exc}; {fix}")


FIXES = {"cache": "set REPROKIT_CACHE_DIR to a writable folder", "ledger": "set REPROKIT_RESULTS_DIR to a writable folder"}


def _fix(path: Path) -> str:
    if Path(settings.CACHE_DIR) in path.parents:
        return FIXES["cache"]
    if Path(settings.RESULTS_DIR) in path.parents:
        return FIXES["ledger"]
    return "make its folder writable or choose another path"


def check_writable(folder: Path, fix: str) -> None:
    """Fail now, with one clear line, where ``folder`` cannot take files (not after an hour's training)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise unwritable(folder, exc, fix) from None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all; a path that cannot be written is one clear
    ReprokitError that names it and the fix."""
    try:
        _write_atomic(path, text)
    except OSError as exc:
        raise unwritable(path, exc, _fix(path)) from None


def _write_atomic(path: Path, text: str) -> None:
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
    with lock(entry):
        if (hit := _read(entry, key)) is not None:  # another worker finished it while we waited
            return hit
        result = compute()
        write(key, label, result)
        return result


@contextlib.contextmanager
def lock(entry: Path) -> Iterator[None]:
    """Hold the lock beside ``entry`` (its folder made first); an unwritable folder is one clear error."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        held = FileLock(str(entry) + ".lock")
        held.acquire()
    except OSError as exc:
        raise unwritable(entry.parent, exc, _fix(entry)) from None
    try:
        yield
    finally:
        held.release()
