#!/usr/bin/env bash
# Probe results for one model: layer sweeps of every contrast dataset and the generalization
# matrix at the middle layer (chosen before looking at any result).
#
#   bash benchmarks/probe_results.sh smollm2-135m 15 DATA_ROOT
#   bash benchmarks/probe_results.sh gemma3-270m 9 DATA_ROOT
#
# DATA_ROOT holds azaria-mitchell-true-false/ and how-to-catch-an-ai-liar/. Writes JSON to
# benchmarks/results/probes-MODEL/. Activations are cached in the store, so a rerun is fast.
set -euo pipefail
model="$1"
layer="$2"
data_root="$3"
out="benchmarks/results/probes-${model}"
mkdir -p "$out"
for dataset in instructed-pairs true-false true-false-negated defection liar; do
  ulterior probe sweep --model "$model" --dataset "$dataset" --data-root "$data_root" \
    --limit 400 --position mean --seed 0 --json "$out/sweep-${dataset}.json"
done
for kind in logistic diff-mean cov-diff-mean; do
  ulterior probe eval --model "$model" --layer "$layer" --kind "$kind" \
    --data-root "$data_root" --limit 400 --position mean --seed 0 \
    --json "$out/matrix-layer${layer}-${kind}.json"
done
