#!/usr/bin/env bash
# The two commands of the README, with the setup they need:
#   bash run.sh claims   set up (a virtual environment in .venv, once) and run the claim suite: the main job
#   bash run.sh tests    run every test: claims, benchmarks, reprokit's own tests (what CI runs)
# Each is two pytest passes: everything but timing in parallel, then the timing claims alone at one
# thread per framework (a time ratio must not depend on how many cores are free).
set -euo pipefail
cd "$(dirname "$0")"
what=${1:-}
if [ "$what" != claims ] && [ "$what" != tests ]; then
    echo "usage: bash run.sh claims|tests   (claims: the main job; tests: everything, as CI runs it)" >&2
    exit 2
fi
if [ ! -x .venv/bin/pytest ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    # constraints.txt pins every package; torch==2.13.0 exactly: a CPU build already on these machines
    .venv/bin/pip install --quiet -c constraints.txt -e ".[all]" 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
    .venv/bin/python -c "import reprokit, torch, keras; print('reprokit', reprokit.__version__, 'torch', torch.__version__, 'keras', keras.__version__)"
fi
export REPROKIT_DATA_DIR=${REPROKIT_DATA_DIR:-../shared/data}
export REPROKIT_DOCUMENTS_DIR=${REPROKIT_DOCUMENTS_DIR:-../shared/seeds}
if [ "$what" = claims ]; then
    .venv/bin/pytest tests/test_claims.py -n auto --dist worksteal -m "not reprokit_time"
    .venv/bin/pytest tests/test_claims.py -m reprokit_time -p no:xdist --reprokit-threads 1
else
    # --durations: the slowest tests in the log, to keep CI within its time
    .venv/bin/pytest -n auto --dist worksteal -m "not reprokit_time" --durations=30
    .venv/bin/pytest -m reprokit_time -p no:xdist --reprokit-threads 1 --durations=15
fi
