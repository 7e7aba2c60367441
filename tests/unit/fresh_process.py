"""Run a script in a fresh Python process at one thread (as the full profile trains) and read the
JSON it prints on a line starting with ``RESULT``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ONE_THREAD = {"REPROKIT_THREADS": "1", "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
              "TF_NUM_INTEROP_THREADS": "1", "KERAS_BACKEND": "tensorflow"}


def run_json(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                         env={**os.environ, **ONE_THREAD}, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])
