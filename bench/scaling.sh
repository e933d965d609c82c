#!/usr/bin/env bash
# What distribution costs on one machine: the same training pipeline as 1 rank × T threads,
# as R ranks × T/R threads (capflow launch, each rank pinned to its cores), and as one process
# of R model replicas × T/R threads (resources.replicas), back to back, in steady state
# (images/s between WARM seconds and the end, from metrics.jsonl). Ranks and replicas train
# R batches a step where the first run trains one.
#   [BATCH=N] bash bench/scaling.sh [PIPELINE] [SECONDS] [RANKS] [DATA]
# Defaults: pipelines/train-cpu.yaml, 150 s per run, 2 ranks, data/demo (made if missing).
set -euo pipefail
pipeline=${1:-pipelines/train-cpu.yaml}
seconds=${2:-150}
ranks=${3:-2}
data=${4:-data/demo}
warm=${WARM:-40}
bin=${CAPFLOW:-build/capflow}
threads=$(nproc)
out=runs/scaling-$(date +%Y%m%d-%H%M%S)
[[ -e "$data/train_labels.csv" ]] || "$bin" data make --out "$data" --count 2000 --seed 1
common=(--quiet --set "data.root=$data" --set data.val_root=null --set "train.max_seconds=$seconds"
        --set nodes.optimize.checkpoint_every=0)
# BATCH=N sets the batch node's size (per rank, per replica); the pipeline's otherwise.
[[ -n "${BATCH:-}" ]] && common+=(--set "nodes.batch.size=$BATCH")

echo "scaling: 1 rank × $threads threads, then $ranks ranks × $((threads / ranks)) threads, then 1 rank of $ranks replicas; $seconds s each"
"$bin" run "$pipeline" "${common[@]}" --set "resources.threads=$threads" --set resources.replicas=1 --out "$out/one" > "$out.one.log" 2>&1 ||
  { cat "$out.one.log"; exit 1; }
"$bin" launch -n "$ranks" -- "$bin" run "$pipeline" "${common[@]}" --set "resources.threads=$((threads / ranks))" \
  --set resources.replicas=1 --set "train.baseline=$out/one" --out "$out/many" > "$out.many.log" 2>&1 || { cat "$out.many.log"; exit 1; }
"$bin" run "$pipeline" "${common[@]}" --set "resources.threads=$threads" --set "resources.replicas=$ranks" \
  --out "$out/replicas" > "$out.replicas.log" 2>&1 || { cat "$out.replicas.log"; exit 1; }

/usr/bin/env python3 - "$out" "$warm" "$ranks" "$threads" <<'PY'
import json, sys
out, warm, ranks, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def steady(run):
    pts = []
    for line in open(f"{out}/{run}/metrics.jsonl"):
        m = json.loads(line)
        if "images" in m and m.get("node") == "optimize":
            pts.append((m["seconds"], m["images"]))
    pts = [p for p in pts if p[0] >= warm]
    if len(pts) < 2:
        sys.exit(f"{run}: too few steps after {warm} s; give more seconds")
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
one, many, replicas = steady("one"), steady("many"), steady("replicas")
s = json.load(open(f"{out}/many/summary.json"))["scaling"]
print(f"1 rank x {threads} threads:            {one:7.2f} images/s (steady state)")
print(f"{ranks} ranks x {threads // ranks} thread(s):         {many:7.2f} images/s in all")
print(f"scaling efficiency: {many / one:.3f} (distribution costs {100 * (1 - many / one):.1f}%)")
print(f"time waiting for gradients on rank 0: {100 * s['communication_fraction']:.1f}%")
print(f"1 rank x {ranks} replicas x {threads // ranks} thread(s): {replicas:7.2f} images/s "
      f"({replicas / one:.3f} of the first, {replicas / many:.3f} of the ranks)")
print(f"runs: {out}/one {out}/many {out}/replicas")
PY
