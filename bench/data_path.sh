#!/usr/bin/env bash
# The data path (read → decode → augment → batch, pipelines/data-only.yaml) against raw
# decoding of the same files (capflow-bench BM_decode_raw_file: read + decode with capflow's
# decoder, one thread; BM_decode_raw_file_adler32: the same with libspng's defaults).
#   bash bench/data_path.sh [DATA_DIR] [EPOCHS] [REPETITIONS]
#   (default data/demo, made if missing; 3 epochs; 3 repetitions)
# Needs build/capflow and build/capflow-bench (or those in CAPFLOW_BUILD_DIR, to compare two
# builds). Prints images/s per core and their ratio; every figure is the median of the
# repetitions (this kind of shared machine varies by 10-20% run to run), and the ratio of the
# best repetitions (the fastest pipeline run per core against the fastest raw decode: on a host
# whose speed jumps between states for seconds at a time, the figure least moved by a
# neighbour).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-data/demo}
epochs=${2:-3}
repetitions=${3:-3}
bin=${CAPFLOW_BUILD_DIR:-build}
if [ ! -f "$data/train_labels.csv" ]; then
  "$bin/capflow" data make --out "$data" --count 2000 --no-progress
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
py=$(command -v python3)

# Raw decode is measured again before each repetition's pipeline runs, and each repetition's
# ratios use its own raw figure: the file reads in raw decode vary by a few per cent over
# minutes on a shared host, and a ratio should not mix minutes.
for rep in $(seq "$repetitions"); do
  CAPFLOW_BENCH_DATA="$data" "$bin/capflow-bench" --benchmark_filter='BM_decode_raw_file|BM_augment_224' \
    --benchmark_min_time=1 --benchmark_format=json --benchmark_out="$out/bench-$rep.json" >/dev/null
  for threads in 1 2; do
    "$bin/capflow" run pipelines/data-only.yaml --quiet --out "$out/run-$threads-$rep" --set data.root="$data" \
      --set resources.threads=$threads --set train.epochs="$epochs" >/dev/null
  done
done
"$py" - "$out" "$repetitions" <<'PY'
import json, statistics, sys
out = sys.argv[1]
reps = range(1, int(sys.argv[2]) + 1)
def bench(rep):
    return {b["name"]: b["items_per_second"] for b in json.load(open(f"{out}/bench-{rep}.json"))["benchmarks"]}
raws = {r: bench(r)["BM_decode_raw_file"] for r in reps}
checked = {r: bench(r)["BM_decode_raw_file_adler32"] for r in reps}
augs = {r: bench(r)["BM_augment_224"] for r in reps}
raw, aug = statistics.median(raws.values()), statistics.median(augs.values())
print(f"raw decode (read + decode, 1 thread):      {raw:8.0f} images/s (median; runs {', '.join(f'{raws[r]:.0f}' for r in reps)})")
print(f"  with libspng's defaults (+ Adler-32):    {statistics.median(checked.values()):8.0f} images/s")
print(f"augment to 224 alone (1 thread):           {aug:8.0f} images/s")
print(f"decode + augment kernels back to back:     {1 / (1 / raw + 1 / aug):8.0f} images/s")
for t in (1, 2):
    runs = {r: json.load(open(f"{out}/run-{t}-{r}/summary.json")) for r in reps}
    shares = {r: 100 * runs[r]["images_per_second"] / t / raws[r] for r in reps}
    r = sorted(reps, key=lambda k: shares[k])[len(reps) // 2]  # the repetition with the median share
    s = runs[r]
    rate = s["images_per_second"]
    print(f"data-only pipeline, {t} thread(s):          {rate:8.0f} images/s "
          f"= {rate / t:6.0f} per core = {shares[r]:4.0f}% of raw decode per core "
          f"({s['images']} images, bottleneck {s['bottleneck']}; "
          f"each repetition: {', '.join(f'{shares[k]:.0f}%' for k in reps)}; "
          f"{100 * rate / t / checked[r]:.0f}% of raw decode with libspng's defaults)")
    best = max(runs[k]["images_per_second"] for k in reps) / t
    print(f"  best repetitions, {t} thread(s):          {best:8.0f} per core against {max(raws.values()):.0f} "
          f"= {100 * best / max(raws.values()):4.0f}% of raw decode per core")
PY
