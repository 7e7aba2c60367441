#!/usr/bin/env bash
# On a lent GPU machine (set up as tools/gpu_check.sh sets it up): record as many seeds of the
# undecided claims as fit in the device time, in all four backends, the runs that serve the most
# undecided claims first (reprokit verdicts' order). The runs go to $OUT/gpu-ledger, not to the
# CPU ledger: GPU seeds join a verdict only once a test shows that one recipe's CPU and GPU seed
# distributions agree (not built yet). Output: $OUT/log.txt and $OUT/gpu-ledger.tgz.
set -u
OUT=${OUT:-/tmp/gpu_fill}; mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 REPROKIT_DATA_DIR=${REPROKIT_DATA_DIR:-$PWD/.gpudata}
MINUTES=${GPU_FILL_MINUTES:-9}
cp -r results "$OUT/gpu-ledger"  # starts from the CPU ledger's runs, so the plan is the CPU's next looks
for backend in torch keras keras-jax keras-torch; do
  echo "=== $(date +%T) $backend"
  env -u KERAS_BACKEND timeout $(( MINUTES * 60 / 4 + 30 )) python3 -m reprokit.cli verdicts --backend "$backend" \
    --device cuda --results "$OUT/gpu-ledger" --max-minutes $(( MINUTES / 4 )) 2>&1 | tail -20
done
tar -czf "$OUT/gpu-ledger.tgz" -C "$OUT" gpu-ledger && rm -rf "$OUT/gpu-ledger"
