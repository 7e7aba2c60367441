"""The ``reprokit`` command: list claims, run them through pytest, report verdicts, check data.

Exit codes: 0 success; 1 claims failed (``run``) or data missing (``data check``); 2 bad usage.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from reprokit.errors import ReprokitError


def _claims(args):
    from reprokit.claims import load
    return load(Path(args.expected))


def cmd_list(args) -> int:
    rows = []
    for c in _claims(args):
        if args.document and not c.document.startswith(args.document):
            continue
        if args.kind and c.kind != args.kind:
            continue
        if args.backend and not c.applies_to(args.backend):
            continue
        nonrepro = ",".join(sorted(c.known_nonrepro)) or "-"
        undecided = ",".join(sorted(c.undecided)) or "-"
        if args.verdict == "nonrepro" and nonrepro == "-":
            continue
        if args.verdict == "undecided" and undecided == "-":
            continue
        if args.verdict == "reproduces" and (nonrepro != "-" or undecided != "-"):
            continue
        rows.append((c.id, c.kind, c.document[:3], nonrepro, undecided, c.quote[:60]))
    for r in rows:
        print(f"{r[0]:<34} {r[1]:<6} {r[2]:<4} non-repro: {r[3]:<12} undecided: {r[4]:<12} {r[5]}")
    print(f"{len(rows)} claims", file=sys.stderr)
    return 0


def cmd_run(args) -> int:
    ids = [c.id for c in _claims(args) if any(fnmatch.fnmatchcase(c.id, p) for p in args.claims)]
    if not ids:
        print(f"reprokit run: no claim matches {' '.join(args.claims)} (see `reprokit list`)", file=sys.stderr)
        return 2
    from reprokit.backends import parse
    backends = parse(args.backend)
    # node ids, not -k: a keyword match would also run every claim whose id contains another's
    nodes = [f"tests/test_claims.py::{cid}[{b}]" for cid in ids for b in backends]
    cmd = [sys.executable, "-m", "pytest", *nodes, "--reprokit-backend", args.backend,
           "--reprokit-profile", args.profile, "--reprokit-expected", str(Path(args.expected).resolve())]
    if args.seeds:
        cmd += ["--reprokit-seeds", str(args.seeds)]
    if args.retrain:
        cmd += ["--reprokit-retrain"]
    if args.device:
        cmd += ["--reprokit-device", args.device]
    if args.last_run:
        cmd += ["--reprokit-last-run", str(Path(args.last_run).resolve())]
    if args.workers != "0":
        cmd += ["-n", args.workers]
    print(" ".join(cmd), file=sys.stderr)
    total = _training_runs([c for c in _claims(args) if c.id in ids], args)
    return _with_progress(cmd, total, args.root)


def _training_runs(claims, args) -> int:
    """How many training runs the selected claims need (for the progress bar)."""
    from reprokit import check, experiments
    from reprokit.backends import parse
    seeds = args.seeds or 3  # the first look; more seeds only where it does not decide
    runs = set()
    for c in claims:
        smoke = check.mode(c, args.profile) == "smoke"
        for b in parse(args.backend):
            if not c.applies_to(b) or c.kind == "time":
                continue
            for name in c.experiments:
                if smoke:  # its smoke run, if it has one; the verdict reads the ledger
                    if experiments.get(name).smoke:
                        runs.add((name, "smoke", b, 0))  # one seed, more only if it does not learn
                else:
                    runs.update((name, "full", b, s) for s in range(seeds))
    return len(runs)


def _with_progress(cmd: list[str], total: int, root: Path) -> int:
    """Run pytest in the project ``root``; below its output, a bar over the training runs (epochs
    of the current ones). Ctrl-C asks pytest to stop after the claims running now (their outcomes
    are kept); a second Ctrl-C stops it at once (finished runs stay cached: the cache is written
    whole or not at all). Either way no progress files are left, and the same command resumes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="reprokit-progress-") as folder:
        # its own session: the terminal's Ctrl-C reaches this process only, which decides how pytest stops
        proc = subprocess.Popen(cmd, cwd=root, env={**os.environ, "REPROKIT_PROGRESS_DIR": folder},
                                start_new_session=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # killed: the finally below takes pytest along
        try:
            try:
                return _draw_progress(proc, folder, total)
            except KeyboardInterrupt:
                from reprokit import progress
                progress.request_stop(Path(folder))
                print("\nreprokit run: stopping after the claims running now (Ctrl-C again to stop at once)",
                      file=sys.stderr, flush=True)
                proc.wait()
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
        finally:
            if proc.poll() is None:  # this process is going away for another reason: take pytest along
                proc.kill()
                proc.wait()
        print("reprokit run: interrupted; finished runs are kept, the same command resumes", file=sys.stderr)
        return 130


def _draw_progress(proc: subprocess.Popen, folder: str, total: int) -> int:
    import time

    from reprokit import progress
    shown, tty = None, sys.stderr.isatty()
    while proc.poll() is None:
        time.sleep(0.5)
        done, running = progress.read(folder)
        line = progress.bar(done, max(total, done), running)
        if line != shown and total:
            if tty:
                print("\r\033[K" + line[:200], end="", file=sys.stderr, flush=True)
            elif line.split(" | ")[0] != (shown or "").split(" | ")[0]:  # a log: one line per finished run
                print(line.split(" | ")[0], file=sys.stderr, flush=True)
            shown = line
    if tty and shown:
        print(file=sys.stderr)
    return proc.returncode


def cmd_report(args) -> int:
    from reprokit import report
    if args.html:
        from reprokit import html
        html.write(Path(args.html), Path(args.expected), Path(args.last_run))
        print(f"report written to {args.html}", file=sys.stderr)
    if args.readme or args.pages:
        for page in [Path(args.readme)] if args.readme else report.pages(args.root):
            report.update_readme(page, Path(args.expected))
            print(f"generated tables written into {page}", file=sys.stderr)
    elif not args.html:
        print(report.markdown(Path(args.expected)))
    return 0


def cmd_train(args) -> int:
    """One training run of the full profile, recorded as one ledger entry: the job unit of a batch
    array (one job per experiment, backend and seed; ``reprokit merge`` collects them)."""
    from reprokit import experiments, ledger, settings
    settings.limit_threads(args.threads)
    if args.device:
        os.environ["REPROKIT_DEVICE"] = settings.check_device(args.device, "--device")
    if args.results:
        settings.RESULTS_DIR = Path(args.results).resolve()
    settings.PROFILE = "full"
    experiments.get(args.experiment)  # an unknown name is one line
    from reprokit import cache
    cache.check_writable(Path(settings.RESULTS_DIR), cache.FIXES["ledger"])
    ledger.commit()  # the code's commit now, before anything trains
    result = experiments.run(args.experiment, args.backend, args.seed)
    print(f"{args.experiment}/{args.backend}-seed{args.seed}: test {result['test']} -> "
          f"{ledger.path(args.experiment, args.backend, args.seed)}")
    return 0


def cmd_merge(args) -> int:
    from reprokit import ledger
    merged, problems = ledger.merge([Path(s) for s in args.sources], replace=args.replace)
    for problem in problems:
        print(f"reprokit merge: {problem}", file=sys.stderr)
    if problems:
        print(f"reprokit merge: {len(problems)} problem(s); nothing was merged", file=sys.stderr)
        return 1
    print(f"merged {len(merged)} entries into the ledger")
    return 0


def cmd_distribute(args) -> int:
    from reprokit import backends, distribute, ledger, settings
    from reprokit import cache
    cache.check_writable(Path(settings.RESULTS_DIR), cache.FIXES["ledger"])
    ledger.commit()
    jobs = distribute.plan(args.experiments, backends.parse(args.backend), args.seeds)
    print(f"{len(jobs)} runs to train ({'scheduler ' + args.scheduler if args.scheduler else 'a local cluster'})")
    problems = distribute.run(jobs, args.scheduler, args.workers)
    for problem in problems:
        print(f"reprokit distribute: {problem}", file=sys.stderr)
    print(f"{len(jobs) - len(problems)} of {len(jobs)} runs recorded in {settings.RESULTS_DIR}")
    return 1 if problems else 0


def cmd_verdicts(args) -> int:
    """Train a document's undecided training claims until decided, then restate its YAML."""
    from reprokit import backends, settings, verdicts
    names = backends.parse(args.backend)
    if keras_backend := backends.keras_backend_for(names):  # fixed per process: before Keras is imported
        if os.environ.setdefault("KERAS_BACKEND", keras_backend) != keras_backend:
            raise ReprokitError(f"--backend {args.backend}: needs KERAS_BACKEND={keras_backend}, this shell has "
                                f"{os.environ['KERAS_BACKEND']}; unset it or run one Keras backend at a time")
    settings.limit_threads(args.threads)
    if args.device:  # GPU runs go to their own results folder until CPU and GPU seeds are shown to agree
        os.environ["REPROKIT_DEVICE"] = settings.check_device(args.device, "--device")
    if args.results:
        settings.RESULTS_DIR = Path(args.results).resolve()
    from reprokit import cache
    cache.check_writable(Path(settings.RESULTS_DIR), cache.FIXES["ledger"])
    claims = [c for c in _claims(args) if not args.document or c.document.startswith(args.document)]
    if args.plan:
        print(verdicts.describe(verdicts.plan(claims, names)))
        return 0
    return verdicts.run(claims, names, Path(args.expected), args.max_minutes)


def cmd_restate(args) -> int:
    from reprokit import restate
    changed = restate.restate(Path(args.expected), check=args.check, timing=Path(args.timing) if args.timing else None)
    print("\n".join(changed) or "expected/ states what the ledger gives")
    return 1 if args.check and changed else 0


NUMBER = re.compile(r"\d[\d,]*\.?\d*")


def cmd_new(args) -> int:
    """A starting expectation file for a source document: its name and title filled in, and the
    document's lines that state numbers listed as candidate quotes (commented out)."""
    from reprokit import settings
    from reprokit.claims import KINDS
    documents = settings.documents_dir()
    source = documents / args.document
    if not source.is_file():
        raise ReprokitError(f"{args.document!r} is not among the source documents in {documents} "
                            f"(set REPROKIT_DOCUMENTS_DIR to their folder)")
    from reprokit.claims import DOCUMENT, notebook_text
    if not DOCUMENT.fullmatch(source.name) or ".." in source.name:
        raise ReprokitError(f"{source.name!r}: the loader takes only plain names ending in .txt or .ipynb "
                            f"(letters, digits, '.', '_', '-'), like 005_notes.txt; rename the file")
    if not Path(args.expected).is_dir():
        raise ReprokitError(f"--expected {args.expected}: no such folder; create it (mkdir -p {args.expected})")
    target = Path(args.expected) / (source.stem + ".yaml")
    if target.exists():
        raise ReprokitError(f"{target} exists; edit it, or remove it to start again")
    text = notebook_text(source) if source.suffix == ".ipynb" else source.read_text(encoding="utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines()]
    title = next((line.lstrip("# ") for line in lines if line), source.stem)
    candidates = list(dict.fromkeys(line for line in lines if NUMBER.search(line) and 8 <= len(line) <= 160))
    body = [
        "# yaml-language-server: $schema=../docs/expectations.schema.json",
        f"# The checkable claims of {source.name}. Each needs a quote found word for word in the document,",
        "# the measurement that checks it, the document's value and the comparison (README, \"The claim",
        "# registry\"). The file loads once it holds at least one claim.",
        f"document: {source.name}",
        f"title: {json.dumps(title[:100])}",
        "claims:",
        "  # - id: doc.params.total            # dotted, lower case; kinds: " + ", ".join(KINDS),
        "  #   kind: params",
        "  #   quote: \"Total params: 328,353\"",
        "  #   measure: params",
        "  #   args: {model: stack4, layers: total}",
        "  #   expected: 328353",
        "  #   compare: equal",
        "",
        f"# Lines of the document that state numbers ({len(candidates)}), candidates for quotes:",
        *[f"#   {c}" for c in candidates[:200]],
    ]
    target.write_text("\n".join(body) + "\n")
    print(f"{target} written: add its claims (until it holds one, loading the claims reports it)")
    return 0


def cmd_schema(args) -> int:
    from reprokit import schema
    if args.write:
        Path(args.write).write_text(schema.text())
        print(f"JSON Schema written to {args.write}", file=sys.stderr)
    else:
        print(schema.text(), end="")
    return 0


def cmd_data_check(args) -> int:
    from reprokit.data import imdb, mnist
    ok = True
    for name, load in (("imdb.npz + imdb_word_index.json", lambda: (imdb.load(), imdb.word_index())),
                       ("mnist.npz", mnist.load)):
        try:
            load()
            print(f"ok       {name}")
        except ReprokitError as exc:
            ok = False
            print(f"PROBLEM  {name}: {exc}")
    from reprokit.data import files
    where = files.data_dir()
    print(f"REPROKIT_DATA_DIR={os.environ[files.ENV]} ({where})" if where
          else "REPROKIT_DATA_DIR is not set: looked in ~/.keras/datasets")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    from reprokit import __version__
    from reprokit.claims import KINDS
    # options shared by every subcommand, accepted before or after its name
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--expected", default=argparse.SUPPRESS, metavar="DIR",
                        help="folder of expectation files (default: <project>/expected)")
    p = argparse.ArgumentParser(prog="reprokit", description=__doc__.splitlines()[0], parents=[common])
    p.add_argument("--version", action="version", version=f"reprokit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", parents=[common], help="list the claims of expected/")
    ls.add_argument("--document", help="document prefix, e.g. 004")
    ls.add_argument("--kind", choices=KINDS)
    from reprokit.backends import BACKENDS
    ls.add_argument("--backend", choices=list(BACKENDS))
    ls.add_argument("--verdict", choices=["reproduces", "nonrepro", "undecided"],
                    help="by the verdict expected/ states (reproduces: in every backend)")
    ls.set_defaults(fn=cmd_list)
    run = sub.add_parser("run", parents=[common],
                         help="run the claims matching ids or globs through pytest, with a progress bar",
                         description="Runs `pytest tests/test_claims.py` in the project on the matching claims; a "
                                     "progress bar over the training runs they need (and the epochs of those running) "
                                     "is drawn below. Exit code: pytest's (0 all passed, 1 a claim failed, 2+ usage "
                                     "or internal errors); 130 when interrupted.")
    run.add_argument("claims", nargs="+", help="claim ids or globs, e.g. 'imdbq.acc.*'")
    run.add_argument("--backend", default="keras,torch", help="comma-separated backends (default: %(default)s)")
    run.add_argument("--profile", default="quick", choices=["quick", "full"])
    run.add_argument("--seeds", type=_positive, metavar="N", help="the most seeds per training claim")
    run.add_argument("--retrain", action="store_true", help="train again what the ledger or the run cache holds")
    run.add_argument("--last-run", metavar="PATH", help="the latest-run file (default: <project>/.reprokit/last-run.json)")
    run.add_argument("--workers", default="auto", help="xdist workers, 0 for none (default: %(default)s)")
    run.add_argument("--device", metavar="DEVICE", help="cpu, cuda or cuda:N (default: $REPROKIT_DEVICE or cpu)")
    run.set_defaults(fn=cmd_run)
    rep = sub.add_parser("report", parents=[common],
                         help="the verdict table (Markdown) or the HTML report, from the ledger and the latest run",
                         description="Without options: the Markdown verdict table of the ledger's full runs on stdout.")
    rep.add_argument("--readme", metavar="PAGE", help="write the generated tables into PAGE between their markers")
    rep.add_argument("--pages", action="store_true",
                     help="write the generated tables into README.md and docs/*.md, wherever their markers are")
    rep.add_argument("--html", metavar="PATH", help="write the self-contained HTML report (verdicts, curves, sweeps, "
                                                    "adder, MNIST confusion, timing ratios) to PATH")
    rep.add_argument("--last-run", metavar="PATH",
                     help="the latest-run file the pytest plugin keeps (default: <project>/.reprokit/last-run.json)")
    rep.set_defaults(fn=cmd_report)
    tr = sub.add_parser("train", parents=[common], help="train one run of the full profile and record it in the ledger",
                        description="One (experiment, backend, seed) run, trained as the full profile trains it and "
                                    "recorded as one ledger entry: the job unit of a batch array (Slurm, a CI "
                                    "matrix). A run the ledger already holds is read back, not retrained.")
    tr.add_argument("experiment", help="experiment name (declared in expected/*.yaml), e.g. index.gru10")
    tr.add_argument("backend", choices=list(BACKENDS))
    tr.add_argument("seed", type=int)
    tr.add_argument("--results", metavar="DIR", help="the ledger folder to record into (default: <project>/results); "
                                                     "per job, then `reprokit merge DIR...`")
    tr.add_argument("--threads", type=_positive, default=1, help="threads per framework (default: %(default)s, as the "
                                                                  "full profile trains)")
    tr.add_argument("--device", metavar="DEVICE", help="cpu, cuda or cuda:N (default: $REPROKIT_DEVICE or cpu)")
    tr.set_defaults(fn=cmd_train)
    mg = sub.add_parser("merge", parents=[common], help="validate ledger entries made elsewhere and add them to the ledger",
                        description="Checks every entry under each DIR (its runs/ folder) against this code's "
                                    "experiments and writes them into <project>/results only if all are valid.")
    mg.add_argument("sources", nargs="+", metavar="DIR")
    mg.add_argument("--replace", action="store_true", help="take an entry that differs from a current one here")
    mg.set_defaults(fn=cmd_merge)
    ds = sub.add_parser("distribute", parents=[common], help="train the runs the ledger lacks as jobs on a Dask cluster",
                        description="Every (experiment, backend, seed) the ledger does not hold becomes a `reprokit "
                                    "train` job on a Dask cluster (one job per worker thread); each entry is checked "
                                    "and written into this ledger as it arrives. Exit 1 if any job failed.")
    ds.add_argument("experiments", nargs="+", help="experiment names or name prefixes, e.g. index. binadd.h3")
    ds.add_argument("--backend", default="keras,torch", help="comma-separated backends (default: %(default)s)")
    ds.add_argument("--seeds", type=_seed_range, default=[0, 1, 2], metavar="LO-HI", help="seeds (default: 0-2)")
    ds.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.1:8786 "
                                                           "(default: a local cluster on this machine)")
    ds.add_argument("--workers", type=_positive, help="processes of the local cluster (default: one per core)")
    ds.set_defaults(fn=cmd_distribute)
    rs = sub.add_parser("restate", parents=[common], help="write the ledger's verdicts into expected/ (the update workflow)",
                        description="For every training claim, in every backend the ledger holds runs of, the verdict "
                                    "its recorded runs give becomes what expected/ states (known_nonrepro, undecided, "
                                    "reproduced blocks, with the numbers that decided it); comments and layout are "
                                    "kept, and a stated reason stays while the verdict does. Like --snapshot-update.")
    rs.add_argument("--check", action="store_true", help="only print what would change; exit 1 if anything would")
    rs.add_argument("--timing", metavar="LAST_RUN", help="restate timing claims too, from a run's last-run file")
    rs.set_defaults(fn=cmd_restate)
    vd = sub.add_parser("verdicts", parents=[common], help="train undecided training claims until decided, then "
                                                             "restate expected/ (states the cost first)",
                        description="For every training claim the ledger cannot decide yet, train its experiments' "
                                    "seeds up to the next look (3, 5, 10, 20; up to the seed budget) in the full "
                                    "profile, recording each run; repeat until decided; then restate expected/. "
                                    "States the runs and minutes first. Interrupted, it resumes where it stopped.")
    vd.add_argument("--backend", default="torch", help="backends, comma-separated, one Keras backend at most "
                                                       "(default torch)")
    vd.add_argument("--document", help="only the claims of documents with this prefix, e.g. 005")
    vd.add_argument("--plan", action="store_true", help="only state what would be trained and its cost")
    vd.add_argument("--max-minutes", type=float, metavar="M", help="stop starting runs after M minutes")
    vd.add_argument("--threads", type=_positive, default=1, help="threads per framework (default 1: one run per core)")
    vd.add_argument("--device", help="cpu (default), cuda or cuda:N")
    vd.add_argument("--results", metavar="DIR", help="the ledger to read and record into (default results/)")
    vd.set_defaults(fn=cmd_verdicts)
    nw = sub.add_parser("new", parents=[common], help="start the expectation file of a source document",
                        description="Writes expected/<document>.yaml with the document's name and title and, "
                                    "commented out, a claim's template and the document's lines that state numbers.")
    nw.add_argument("document", help="the source document's file name, e.g. 005_abc.txt (in ../shared/seeds)")
    nw.set_defaults(fn=cmd_new)
    sc = sub.add_parser("schema", help="the JSON Schema of expectation files (for editors)",
                        description="Prints the JSON Schema generated from the definitions the loader checks; "
                                    "docs/expectations.schema.json is its committed copy.")
    sc.add_argument("--write", metavar="PATH", help="write it to PATH instead of stdout")
    sc.set_defaults(fn=cmd_schema)
    data = sub.add_parser("data", help="data commands")
    dsub = data.add_subparsers(dest="data_command", required=True)
    dc = dsub.add_parser("check", help="find the data, verify its content, say what is missing")
    dc.set_defaults(fn=cmd_data_check)
    args = p.parse_args(argv)
    from reprokit import settings
    args.root = settings.find_root()  # the project, from any folder inside it
    settings.use_root(args.root)
    args.expected = str(settings.use_expected(args.expected) if getattr(args, "expected", None) else settings.EXPECTED_DIR)
    if hasattr(args, "last_run") and args.command == "report":
        args.last_run = args.last_run or str(args.root / ".reprokit" / "last-run.json")
    try:
        return args.fn(args)
    except ReprokitError as exc:
        print(f"reprokit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("reprokit: interrupted", file=sys.stderr)
        return 130


def _seed_range(value: str) -> list[int]:
    lo, _, hi = value.partition("-")
    if not lo.isdigit() or not (hi or lo).isdigit() or int(hi or lo) < int(lo):
        raise argparse.ArgumentTypeError(f"{value!r}: give seeds as LO-HI (e.g. 0-19) or one seed")
    return list(range(int(lo), int(hi or lo) + 1))


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number >= 1")
    return int(value)


if __name__ == "__main__":
    sys.exit(main())
