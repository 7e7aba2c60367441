"""The full profile's training runs as jobs on a Dask cluster; the ledger is written here only.

Each (experiment, backend, seed) the ledger does not hold becomes one job. A worker runs it as
``reprokit train`` does, in a fresh subprocess of the project checkout (Keras fixes its backend per
process; each framework gets one thread), into a folder of its own, and sends the ledger entry back.
This process checks each entry as ``reprokit merge`` does (``ledger.entry_problem``) and writes it
into the ledger as it arrives, so an interrupted run keeps every finished job. A job that fails is
one line in the report; the others go on.

Why Dask (``distributed``) rather than pytest-xdist's workers or Ray: the jobs are independent
command lines whose only product is a small JSON entry, so the engine needs no shared state, only
a scheduler that hands one job to each free core and brings back its value. Dask's scheduler and
workers are pure-Python and pip-installable next to reprokit, start with one command per machine
(``dask scheduler``; ``dask worker ADDRESS --nthreads 1 --nworkers N``) or from Slurm/PBS through
dask-jobqueue, and a ``LocalCluster`` of processes tests the same code here. xdist's remote
workers (``--tx ssh=...``) would need every test's outcome routed back through pytest hooks, and
their rsync of the checkout is deprecated; Ray brings an object store and a runtime of its own for
what is a queue of command lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from reprokit.errors import ReprokitError

Job = tuple[str, str, int]  # experiment, backend, seed


def plan(prefixes: list[str], backends: tuple[str, ...], seeds: list[int]) -> list[Job]:
    """Every (experiment, backend, seed) of the experiments named (or prefixed) that the ledger
    does not hold as current."""
    from reprokit import experiments, ledger
    return [(n, b, s) for n in experiments.matching(prefixes) for b in backends for s in seeds
            if ledger.status(experiments.get(n), b, s)[0] != "current"]


def train_job(name: str, backend: str, seed: int, root: str) -> dict:
    """Runs on a worker: ``reprokit train`` in the checkout at ``root``; returns the ledger entry."""
    with tempfile.TemporaryDirectory(prefix="reprokit-job-") as folder:
        out = subprocess.run([sys.executable, "-m", "reprokit.cli", "train", name, backend, str(seed),
                              "--results", folder], cwd=root, capture_output=True, text=True)
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
            raise RuntimeError(last)
        return json.loads((Path(folder) / "runs" / name / f"{backend}-seed{seed}.json").read_text())


def run(jobs: list[Job], scheduler: str | None = None, workers: int | None = None, root: str | None = None,
        say: Callable[[str], None] = print) -> list[str]:
    """Run ``jobs`` on the cluster at ``scheduler`` (or on a local cluster of ``workers`` processes,
    one job each at a time) and record each entry in this ledger. Returns the problems, one line
    each (a job that failed, an entry refused)."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ReprokitError("reprokit distribute needs Dask: pip install -c constraints.txt -e '.[distributed]'") from None
    from reprokit import experiments, ledger, settings
    root = root or str(settings.ROOT)
    cluster = None if scheduler else LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                                  processes=True, dashboard_address=None)
    problems: list[str] = []
    with Client(scheduler or cluster) as client:
        futures = {client.submit(train_job, *job, root, pure=False, key=f"{job[0]}/{job[1]}-seed{job[2]}"): job
                   for job in jobs}
        for future in as_completed(futures):
            name, backend, seed = job = futures[future]
            label = f"{name}/{backend}-seed{seed}"
            try:
                entry = future.result()
            except Exception as exc:  # noqa: BLE001 - a job's failure is reported, never raised
                problems.append(f"{label}: the job failed: {exc}")
                say(f"failed   {label}: {exc}")
                continue
            problem = ledger.entry_problem(*job, entry)
            if problem is None and ledger.status(experiments.get(name), backend, seed)[0] == "current":
                problem = "the ledger got a current entry meanwhile; kept it"
            if problem:
                problems.append(f"{label}: {problem}")
                say(f"refused  {label}: {problem}")
                continue
            ledger.write(*job, entry)
            say(f"recorded {label}: test {entry['result']['test']} ({entry['recorded']['device']})")
    if cluster is not None:
        cluster.close()
    return problems
