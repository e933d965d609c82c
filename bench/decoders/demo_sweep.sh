#!/usr/bin/env bash
# The demo's five minutes with each decoder, one after the other (run it on a quiet machine):
# the attention LSTM as shipped (`capflow demo`), then the transformer decoder in two sizes.
# Each run evaluates itself on data/demo-holdout (300 images, beam 4); the figures are in
# RUN/summary.json (eval, mfu, nodes) and docs/benchmarks.md, "The transformer decoder".
#   bash bench/decoders/demo_sweep.sh [OUT_DIR]      (default runs/decoders)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/decoders}
mkdir -p "$out"
build/capflow demo --out "$out/base" > "$out/base.log" 2>&1
build/capflow run bench/decoders/demo-transformer.yaml --out "$out/tf" > "$out/tf.log" 2>&1
build/capflow run bench/decoders/demo-transformer-small.yaml --out "$out/tf-small" \
  > "$out/tf-small.log" 2>&1
for run in base tf tf-small; do
  /usr/bin/python3 - "$out/$run" "$run" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
print(f"{sys.argv[2]:9} {s['images_per_second']:6.1f} images/s, {s['steps']} steps, "
      f"held-out {s['eval']['levenshtein_mean']:.2f} (beam 4), MFU {100 * s['mfu']['peak_fraction']:.1f} %")
PY
done
