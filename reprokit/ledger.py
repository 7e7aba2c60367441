"""The ledger of full-profile runs, committed in ``results/``: one JSON file per (experiment,
backend, seed) holding the run's key (recipe, seed, data digest, environment), where and when it
ran (commit, device) and its result (epoch histories, test metrics, wall times).

A full run records each training run as it finishes (atomically), so an interrupted full run
resumes where it stopped. The quick profile reads the ledger to check that the recorded runs still
give the verdicts ``expected/`` states; an entry whose recipe has changed since is *stale*.
"""

from __future__ import annotations

import datetime
import functools
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from reprokit import settings


def path(name: str, backend: str, seed: int) -> Path:
    from reprokit.cache import inside
    return inside(Path(settings.RESULTS_DIR) / "runs", f"{name}/{backend}-seed{int(seed)}.json")


def backends() -> tuple[str, ...]:
    """keras and torch, then every other backend the ledger holds runs of (keras-jax, keras-torch)."""
    from reprokit.backends import BACKENDS
    from reprokit.errors import ReprokitError
    runs = Path(settings.RESULTS_DIR) / "runs"
    files = {p.name.rpartition("-seed")[0]: p for p in runs.glob("*/*-seed*.json")} if runs.is_dir() else {}
    if unknown := sorted(set(files) - set(BACKENDS)):
        raise ReprokitError(f"{files[unknown[0]]}: {unknown[0]!r} is no backend ({', '.join(BACKENDS)}); a ledger file "
                            f"is named BACKEND-seedN.json: rename or remove it")
    return ("keras", "torch") + tuple(sorted(set(files) - {"keras", "torch"}))


def _read(p: Path) -> dict | None:
    """The entry in ``p``; ``None`` where it is no entry, or its content no longer matches the
    digest it was written with (edited by hand, truncated, corrupted)."""
    try:
        entry = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or not {"key", "result", "digest"} <= set(entry):
        return None
    return entry if entry["digest"] == digest(entry) else None


def digest(entry: dict) -> str:
    """SHA-256 of the entry's content (key, recorded, result) as canonical JSON. It shows an entry
    is unchanged since it was written; anyone can recompute it, so it proves no origin: that is
    ``signature``'s job."""
    import hashlib
    content = {k: entry.get(k) for k in ("key", "recorded", "result")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


KEY_VARIABLE = "REPROKIT_LEDGER_KEY"  # the coordinator's secret for signing entries; never committed


def signature(entry: dict, secret: str) -> str:
    """HMAC-SHA-256 of the entry's digest under ``secret``: only a holder of the key can make it."""
    import hashlib
    import hmac
    return hmac.new(secret.encode(), digest(entry).encode(), hashlib.sha256).hexdigest()


def sealed(entry: dict) -> dict:
    """``entry`` with its digest, and its signature where ``$REPROKIT_LEDGER_KEY`` is set."""
    import os
    entry = {k: v for k, v in entry.items() if k not in ("digest", "signature")}
    entry["digest"] = digest(entry)
    if secret := os.environ.get(KEY_VARIABLE):
        entry["signature"] = signature(entry, secret)
    return entry


@functools.cache
def commit() -> str:
    """The commit this process's code came from (first asked at the start of a full run, so a
    later commit in the same checkout does not relabel the runs), ``-dirty`` if tracked files
    other than the ledger's (``results/``) differed from it."""
    try:
        out = subprocess.run(["git", "-C", str(settings.ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        # the code's changes, not the ledger's: a fill in progress changes results/, not what trains
        dirty = subprocess.run(["git", "-C", str(settings.ROOT), "status", "--porcelain", "--untracked-files=no",
                                "--", ".", ":(exclude)results"], capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device() -> str:
    """The processor the run used, for the record: the GPU the device option names, else the CPU."""
    import os
    if (gpu := settings.device()) != "cpu":
        from reprokit.experiments import accelerator
        return f"{accelerator(gpu)['gpu']} ({gpu})"
    return f"{cpu_model()}, {os.cpu_count()} cores"


def cpu_model() -> str:
    """The processor's name as the OS gives it (``Intel(R) Xeon(R) ...``, ``AMD EPYC``): any text.
    The one place it is read, so a test can stand another machine's name in for it."""
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


# The instruction sets a CPU's float kernels choose between (oneDNN, XLA, Eigen): two processors of
# one name that differ here compute different last bits, so bit-identity is promised only between
# entries whose processors agree on them (the name alone does not tell: "AMD EPYC" is many chips).
KERNEL_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")


def instruction_sets() -> str:
    """This processor's family, model and kernel-relevant flags (``KERNEL_FLAGS``), as one string
    recorded with every entry: ``"family 25 model 17: avx avx2 fma ..."``."""
    info: dict[str, str] = {}
    try:
        for line in open("/proc/cpuinfo"):
            name, _, value = line.partition(":")
            if name.strip() in ("cpu family", "model", "flags") and name.strip() not in info:
                info[name.strip()] = value.strip()
    except OSError:
        return f"{platform.machine()}: unknown"
    flags = set(info.get("flags", "").split())
    return f"family {info.get('cpu family', '?')} model {info.get('model', '?')}: " + \
        " ".join(f for f in KERNEL_FLAGS if f in flags)


def bit_identical_here(entry: dict) -> str | None:
    """``None`` where this machine should retrain ``entry`` to the last bit (same device, same
    instruction sets), else why not, for a test's skip."""
    recorded = entry.get("recorded", {})
    if recorded.get("device") != device():
        return f"recorded on {recorded.get('device')}, this is {device()}: float results may differ between processors"
    if "isa" not in recorded:
        return (f"recorded before entries named their processor's instruction sets; this {device()} has "
                f"{instruction_sets()}: whether its float kernels match cannot be told")
    if recorded["isa"] != instruction_sets():
        return (f"recorded on a {device()} with {recorded['isa']}, this one has {instruction_sets()}: "
                f"different float kernels")
    return None


def machine_folder(device_name: str | None = None) -> str:
    """``device_name`` (default: this machine's ``device()``) as one safe path component: saved
    benchmark runs are kept under it. Every run of non-alphanumerics becomes one ``-``, so
    ``Intel(R) Xeon(R) Processor, 2 cores`` is ``Intel-R-Xeon-R-Processor-2-cores``."""
    import re
    return re.sub(r"[^A-Za-z0-9]+", "-", device_name if device_name is not None else device()).strip("-") or "unknown"


def record(exp, backend: str, seed: int, key: dict, result: dict, source: str = "trained") -> None:
    """Write the entry atomically. ``source``: "trained" by this process, or read from the run
    "cache" (trained earlier with the identical key)."""
    from reprokit.cache import write_atomic
    recorded = {"commit": commit(), "device": device(), "isa": instruction_sets(), "source": source,
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if "group" in result:  # trained with other seeds as one group (experiments.train_group)
        recorded["group"] = result["group"]
    entry = sealed({"key": key, "recorded": recorded, "result": result})
    write_atomic(path(exp.name, backend, seed), json.dumps(entry, indent=1, sort_keys=True))


def _same_run(a: dict, b: dict) -> bool:
    """Same recipe, seed, data and library versions. The thread count is recorded but not
    compared: a full run resumed with other threads must not retrain what is already recorded."""
    strip = lambda k: {**k, "env": {n: v for n, v in k.get("env", {}).items() if n != "threads"}}  # noqa: E731
    return strip(a) == strip(b)


def lookup(exp, backend: str, seed: int, key: dict) -> dict | None:
    """The recorded result of this run (same recipe, data and library versions), if any."""
    entry = _read(path(exp.name, backend, seed))
    return entry["result"] if entry and _same_run(entry["key"], key) else None


def status(exp, backend: str, seed: int) -> tuple[str, dict | None]:
    """``("current", entry)``, ``("stale", entry)`` (recipe, seed, data or port revision changed:
    the run is not what this code computes) or ``("missing", None)``. Library versions and threads
    are not compared: a run recorded under other versions still counts as a draw of the recipe."""
    from reprokit.experiments import port
    p = path(exp.name, backend, seed)
    if not p.exists():
        return "missing", None
    entry = _read(p)
    if entry is None:
        return "corrupt", None
    k = entry["key"]
    same = k.get("recipe") == json.loads(json.dumps(exp.recipe())) and k.get("seed") == seed \
        and k.get("data") == exp.data.digest() and k.get("env", {}).get("port") == port(exp, backend)
    return ("current" if same else "stale"), entry


def corrupt(name: str, backend: str, seed: int) -> Exception:
    """The error for an unreadable entry: never a silent "pending", the file named with the fix."""
    from reprokit.errors import ReprokitError
    return ReprokitError(f"{path(name, backend, seed)}: not a ledger entry, or its content does not match its digest "
                         f"(edited or corrupted); restore it (git checkout -- FILE) or delete it and record the run again")


def results(exp, backend: str, seeds: list[int]) -> tuple[list[dict[str, Any]], list[str]]:
    """The current recorded results for ``seeds`` and, per seed not usable, why."""
    found, problems = [], []
    for seed in seeds:
        state, entry = status(exp, backend, seed)
        if state == "corrupt":
            raise corrupt(exp.name, backend, seed)
        if state == "current":
            found.append(entry["result"])
        else:
            problems.append(f"{exp.name}/{backend}-seed{seed}: {state}")
    return found, problems


def entry_problem(name: str, backend: str, seed: int, entry: dict | None) -> str | None:
    """Why ``entry`` cannot be this ledger's entry of ``name``/``backend``-seed``seed``, or None: it
    must be a ledger entry of a known experiment, recorded for this code's recipe, seed and data,
    in that backend, with its history and test metrics."""
    from reprokit import experiments
    from reprokit.errors import ReprokitError
    if entry is None:
        return "not a ledger entry, or its content does not match its digest (edited or corrupted)"
    try:
        exp = experiments.get(name)
    except ReprokitError:
        return f"unknown experiment {name!r}"
    key = entry["key"]
    if key.get("recipe") != json.loads(json.dumps(exp.recipe())) or key.get("seed") != seed \
            or key.get("data") != exp.data.digest() or key.get("env", {}).get("backend") != backend:
        return f"recorded for another recipe, seed, data or backend than this code's {name}/{backend}-seed{seed}"
    if not {"history", "test"} <= set(entry["result"]):
        return "the result lacks its history or test metrics"
    return None


def write(name: str, backend: str, seed: int, entry: dict) -> Path:
    """Write a validated entry (``entry_problem``) into this ledger, atomically."""
    from reprokit.cache import write_atomic
    target = path(name, backend, seed)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, json.dumps(entry, indent=1, sort_keys=True))  # as merged: digest and signature kept
    return target


def merge(sources: list[Path], replace: bool = False) -> tuple[list[str], list[str]]:
    """Validate every entry under ``sources`` (ledgers written elsewhere: another machine, a batch
    job's ``reprokit train --results DIR``) and copy them into this ledger. Returns (merged, problems);
    with any problem nothing is written. Each entry must pass ``entry_problem`` for the run its
    file names; one that equals the entry here is skipped; one that differs from a current entry
    here is a conflict unless ``replace``."""
    import hmac
    import os

    from reprokit import experiments
    planned, problems = [], []
    secret = os.environ.get(KEY_VARIABLE)
    seen: dict[tuple[str, str, int], Path] = {}  # run -> the source file that brought it
    for source in sources:
        runs = source / "runs" if (source / "runs").is_dir() else source
        files = sorted(runs.glob("*/*-seed*.json"))
        if not files:
            problems.append(f"{source}: no ledger entries (expected {source}/runs/EXPERIMENT/BACKEND-seedN.json)")
        for p in files:
            name, (backend, _, seed) = p.parent.name, p.stem.rpartition("-seed")
            entry = _read(p)
            problem = entry_problem(name, backend, int(seed), entry) if seed.isdigit() else \
                "not a ledger entry"
            if problem is None and secret and not hmac.compare_digest(entry.get("signature", ""),
                                                                       signature(entry, secret)):
                problem = (f"not signed with this coordinator's key (${KEY_VARIABLE}): forged, edited, or "
                           f"trained by a job that did not have the key")
            if problem:
                problems.append(f"{p}: {problem}")
                continue
            if (run := (name, backend, int(seed))) in seen:
                problems.append(f"{p}: the same run as {seen[run]}: two sources hold {name}/{backend}-seed{seed}; "
                                f"merge the one you trust")
                continue
            seen[run] = p
            here = _read(path(name, backend, int(seed)))
            if here is not None and here["key"] == entry["key"] and here["result"] == entry["result"]:
                continue  # merged before
            if here is not None and status(experiments.get(name), backend, int(seed))[0] == "current" and not replace:
                problems.append(f"{p}: conflicts with the current entry {path(name, backend, int(seed))} "
                                f"(recorded {here.get('recorded', {}).get('date', '?')}); --replace takes the new one")
                continue
            planned.append((name, backend, int(seed), entry))
    if problems:
        return [], problems
    return [str(write(*job)) for job in planned], []
