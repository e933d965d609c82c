#!/usr/bin/env bash
# The data path (read → decode → augment → batch, pipelines/data-only.yaml) against raw
# decoding of the same files (capflow-bench BM_decode_raw_file: read + decode with capflow's
# decoder, one thread; BM_decode_raw_file_adler32: the same with libspng's defaults).
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

# Raw decode is measured again before each repetition's pipeline runs, and each repetition's
# ratios use its own raw figure: the file reads in raw decode vary by a few per cent over
# minutes on a shared host, and a ratio should not mix minutes.
for rep in 1 2 3; do
  CAPFLOW_BENCH_DATA="$data" build/capflow-bench --benchmark_filter='BM_decode_raw_file|BM_augment_224' \
    --benchmark_min_time=1 --benchmark_format=json --benchmark_out="$out/bench-$rep.json" >/dev/null
  for threads in 1 2; do
    build/capflow run pipelines/data-only.yaml --quiet --out "$out/run-$threads-$rep" --set data.root="$data" \
      --set resources.threads=$threads --set train.epochs="$epochs" >/dev/null
  done
done
"$py" - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
reps = (1, 2, 3)
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
    r = sorted(reps, key=lambda k: shares[k])[1]  # the repetition with the median share
    s = runs[r]
    rate = s["images_per_second"]
    print(f"data-only pipeline, {t} thread(s):          {rate:8.0f} images/s "
          f"= {rate / t:6.0f} per core = {shares[r]:4.0f}% of raw decode per core "
          f"({s['images']} images, bottleneck {s['bottleneck']}; "
          f"each repetition: {', '.join(f'{shares[k]:.0f}%' for k in reps)}; "
          f"{100 * rate / t / checked[r]:.0f}% of raw decode with libspng's defaults)")
PY
