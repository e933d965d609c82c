#!/usr/bin/env bash
# The data path (read → decode → augment → batch, pipelines/data-only.yaml) against raw
# decoding of the same files (capflow-bench BM_decode_raw_file: read + decode, one thread).
#   bash bench/data_path.sh [DATA_DIR] [EPOCHS]   (default data/demo, made if missing; 3 epochs)
# Needs build/capflow and build/capflow-bench. Prints images/s per core and their ratio; every
# figure is the median of 3 runs (this kind of shared machine varies by 10-20% run to run).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-data/demo}
epochs=${2:-3}
if [ ! -f "$data/train_labels.csv" ]; then
  build/capflow data make --out "$data" --count 2000 --no-progress
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
py=$(command -v python3)

CAPFLOW_BENCH_DATA="$data" build/capflow-bench --benchmark_filter='BM_decode_raw_file|BM_augment_224' \
  --benchmark_min_time=1 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_format=json --benchmark_out="$out/bench.json" >/dev/null
for rep in 1 2 3; do
  for threads in 1 2; do
    build/capflow run pipelines/data-only.yaml --quiet --out "$out/run-$threads-$rep" --set data.root="$data" \
      --set resources.threads=$threads --set train.epochs="$epochs" >/dev/null
  done
done
"$py" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
import statistics
bench = {b["name"]: b for b in json.load(open(f"{out}/bench.json"))["benchmarks"]}
raw = bench["BM_decode_raw_file_median"]["items_per_second"]
aug = bench["BM_augment_224_median"]["items_per_second"]
print(f"raw decode (read + decode, 1 thread):      {raw:8.0f} images/s")
print(f"augment to 224 alone (1 thread):           {aug:8.0f} images/s")
print(f"decode + augment kernels back to back:     {1 / (1 / raw + 1 / aug):8.0f} images/s")
for t in (1, 2):
    runs = sorted((json.load(open(f"{out}/run-{t}-{r}/summary.json")) for r in (1, 2, 3)),
                  key=lambda s: s["images_per_second"])
    s = runs[1]
    rate = s["images_per_second"]
    print(f"data-only pipeline, {t} thread(s):          {rate:8.0f} images/s "
          f"= {rate / t:6.0f} per core = {100 * rate / t / raw:4.0f}% of raw decode per core "
          f"({s['images']} images, bottleneck {s['bottleneck']})")
PY
