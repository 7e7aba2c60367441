"""Training progress for ``reprokit run``'s progress bar, passed through small files.

Training happens inside pytest (often in xdist workers), so each process writes its state to
``$REPROKIT_PROGRESS_DIR/<pid>.json`` (atomically) as runs start and epochs end; the command reads
them all and draws the bar. Without the variable nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "REPROKIT_PROGRESS_DIR"
_state: dict = {"done": 0, "run": None, "epoch": 0, "epochs": 0}


def _write() -> None:
    folder = os.environ.get(ENV)
    if folder:
        from reprokit.cache import write_atomic
        write_atomic(Path(folder) / f"{os.getpid()}.json", json.dumps(_state))


STOP = "stop"  # the file ``reprokit run`` writes on Ctrl-C: stop after the claims running now


def request_stop(folder: Path) -> None:
    (Path(folder) / STOP).touch()


def stop_requested() -> bool:
    folder = os.environ.get(ENV)
    return bool(folder) and (Path(folder) / STOP).exists()


def start(label: str, epochs: int) -> None:
    _state.update(run=label, epoch=0, epochs=epochs)
    _write()


def epoch(done: int) -> None:
    _state["epoch"] = done
    _write()


def finish() -> None:
    _state.update(done=_state["done"] + 1, run=None, epoch=0, epochs=0)
    _write()


def read(folder: Path) -> tuple[int, list[str]]:
    """Runs finished across processes, and what each process is training now."""
    done, running = 0, []
    for p in Path(folder).glob("*.json"):
        try:
            s = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        done += s.get("done", 0)
        if s.get("run"):
            running.append(f"{s['run']} epoch {s['epoch']}/{s['epochs']}")
    return done, running


def bar(done: int, total: int, running: list[str], width: int = 24) -> str:
    filled = int(width * min(done, total) / max(total, 1))
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} training runs" + \
        (" | " + "; ".join(running) if running else "")
