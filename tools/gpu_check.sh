#!/usr/bin/env bash
# The checks and figures that need a CUDA GPU (README "Devices"), in one script for a lent GPU
# machine: python3 there holds torch and JAX; Keras comes as wheels in .whl/, the data in .gpudata/
# (IMDB and MNIST .npz). Each step has its own time limit, so a slow one cannot take the rest.
# Output: $OUT/log.txt (everything) and $OUT/runs.tgz (the full-profile entries, for the summary).
set -u
OUT=${OUT:-/tmp/gpu_check}; mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 REPROKIT_DATA_DIR=${REPROKIT_DATA_DIR:-$PWD/.gpudata}
runs=/tmp/gpu_runs; mkdir -p $runs
step() { echo; echo "=== $(date +%T) $*"; }
DEADLINE=$((SECONDS + ${GPU_CHECK_SECONDS:-540}))  # the whole script's budget; each step gets what is left
left() { local l=$((DEADLINE - SECONDS)); echo $(( l < $1 ? (l > 1 ? l : 1) : $1 )); }

step environment
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, jax, keras; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), '| jax', jax.__version__, jax.devices(), '| keras', keras.__version__)"
nproc

step "1. every model computes on the GPU what it computes on the CPU (torch, cuDNN)"
REPROKIT_DEVICE=cuda timeout $(left 150) python3 -m pytest -p reprokit.plugin -p no:cacheprovider -q -rf tests/unit/test_gpu.py 2>&1 | tail -25

step "2. full-profile runs, one at a time on the GPU: wall time (the CPU ledger's is in the summary)"
train() {  # EXPERIMENT BACKEND SEED LIMIT_S
  local t0=$SECONDS
  timeout "$(left "$4")" python3 -m reprokit.cli train "$1" "$2" "$3" --device cuda --results $runs 2>&1 | grep -v "^\s*$" | tail -2
  echo "$1/$2 seed $3: $((SECONDS - t0)) s wall (process included)"
}
train imdb500.basic torch 0 120
KERAS_BACKEND=jax train imdb500.basic keras-jax 0 150

step "3. the same seed, the same numbers on the GPU (fresh processes, torch)"
REPROKIT_DEVICE=cuda timeout $(left 120) python3 -m pytest -p reprokit.plugin -p no:cacheprovider -q -rf -k torch tests/unit/test_determinism.py 2>&1 | tail -8

step "4. many seeds at once: 8 IMDB-500 trainings side by side on the one GPU"
t0=$(date +%s.%N)
pids=()
for s in 1 2 3 4 5 6 7 8; do REPROKIT_THREADS=1 train imdb500.basic torch $s 200 & pids+=($!); done
wait "${pids[@]}"  # these only: a bare wait would also wait for the log's tee
echo "8 concurrent runs: $(python3 -c "print(round($(date +%s.%N)-$t0,1))") s wall in all"

step "5. more full-profile runs alone, as time allows"
train mnist.lstm128 torch 0 120
train imdb500.bidirectional torch 0 120

step done
tar czf "$OUT/runs.tgz" -C $runs . 2>/dev/null
