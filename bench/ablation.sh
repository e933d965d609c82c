#!/usr/bin/env bash
# One row of the time-to-quality ablations (docs/benchmarks.md#time-to-quality-ablations):
# trains PIPELINE with the given overrides for a fixed number of steps or seconds, then scores
# the last checkpoint on a held-out set (greedy) and prints one line, also appended as JSON to
# runs/ablations/results.jsonl.
#   bash bench/ablation.sh NAME [--pipeline P] [--steps N | --seconds S] [--holdout DIR]
#                          [--limit N] [-- --set key=value ...]
# Default: pipelines/demo.yaml, its own datasets (data/demo, data/demo-holdout), 300 steps.
# Runs of one table must come from one machine with nothing else running (check `ps`).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: bench/ablation.sh NAME [--pipeline P] [--steps N | --seconds S] [-- --set k=v ...]}
shift
pipeline=pipelines/demo.yaml steps=300 seconds=0 holdout=data/demo-holdout limit=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pipeline) pipeline=$2; shift 2 ;;
    --steps) steps=$2; seconds=0; shift 2 ;;
    --seconds) seconds=$2; steps=0; shift 2 ;;
    --holdout) holdout=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "ablation: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x build/capflow ] || { echo "ablation: build/capflow missing (build first)" >&2; exit 77; }
out=runs/ablations/$name
rm -rf "$out"
mkdir -p runs/ablations
echo "ablation $name: training ($pipeline, steps $steps, seconds $seconds, overrides: $*)" >&2
build/capflow run "$pipeline" --out "$out" --set train.max_steps="$steps" \
  --set train.max_seconds="$seconds" --set nodes.optimize.eval_images=0 "$@" > "$out.log" 2>&1 ||
  { echo "ablation $name: training failed, see $out.log" >&2; tail -5 "$out.log" >&2; exit 1; }
echo "ablation $name: scoring on $holdout" >&2
reliance=()
build/capflow eval --help 2>/dev/null | grep -q -- --reliance && reliance=(--reliance)
build/capflow eval --checkpoint "$out" --data "$holdout" --limit "$limit" "${reliance[@]}" > "$out/eval.json"
/usr/bin/python3 - "$name" "$out" "$*" <<'PY'
import json, sys
name, out, overrides = sys.argv[1], sys.argv[2], sys.argv[3]
summary = json.load(open(out + "/summary.json"))
ev = json.load(open(out + "/eval.json"))
row = {"name": name, "overrides": overrides, "steps": summary.get("steps"),
       "seconds": round(summary["seconds"], 1), "images_per_second": round(summary["images_per_second"], 2),
       "loss_last": summary.get("loss_last"), "levenshtein": round(ev["levenshtein_mean"], 2),
       "exact": ev["exact_match"], "valid": ev["valid_inchi_fraction"]}
if "reliance" in ev:
    row["levenshtein_shuffled"] = ev["reliance"].get("levenshtein_shuffled")
    row["loss_real"] = ev["reliance"].get("loss_real")
    row["loss_shuffled"] = ev["reliance"].get("loss_shuffled")
open("runs/ablations/results.jsonl", "a").write(json.dumps(row) + "\n")
print(" | ".join(f"{k} {v}" for k, v in row.items()))
PY
