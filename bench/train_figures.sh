#!/usr/bin/env bash
# The training figures of docs/benchmarks.md, in one go (about 10 minutes on 2 cores):
#   1. capflow vs its PyTorch peer, full fine-tuning, bf16 and fp32 (bench/peer/compare.sh)
#   2. the same with a frozen encoder (train-frozen.yaml; the peer freezes too)
#   3. prediction speed (greedy) and held-out scores of a trained checkpoint, when given
#   bash bench/train_figures.sh [DATA_DIR] [CHECKPOINT] [HELD_OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-data/demo}
checkpoint=${2:-}
held_out=${3:-}
echo "== full fine-tuning, bf16 + channels-last"
bash bench/peer/compare.sh "$data" 10 2 bf16
echo "== full fine-tuning, fp32"
bash bench/peer/compare.sh "$data" 6 2 fp32
echo "== frozen encoder, bf16"
bash bench/peer/compare.sh "$data" 10 2 bf16 pipelines/train-frozen.yaml
if [ -n "$checkpoint" ] && [ -n "$held_out" ]; then
  echo "== predict (greedy) on $held_out/train"
  out=$(mktemp -d)
  build/capflow predict --checkpoint "$checkpoint" --images "$held_out/train" --out "$out/submission.csv"
  rm -rf "$out"
  echo "== eval (greedy) on $held_out"
  build/capflow eval --checkpoint "$checkpoint" --data "$held_out"
fi
