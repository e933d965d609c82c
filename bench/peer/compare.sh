#!/usr/bin/env bash
# capflow against its PyTorch peer, back to back, on the same image files: training images/s
# (the pipeline's ResNet encoder + attention LSTM or transformer decoder, as its config sets
# them: stages, width, embed, hidden, attention (the transformer: hidden, layers, heads, ffn),
# dropout, formula and atom heads, label smoothing, and the captions: InChI
# or SMILES; 224×224, batch 32, channels-last, THREADS threads), each measured in steady state
# (after WARMUP steps), and their ratio.
#   bash bench/peer/compare.sh [DATA_DIR] [STEPS] [THREADS] [PRECISION] [PIPELINE]
#   (defaults: data/demo, 10 timed steps after 2 warm-up steps, 2 threads, auto: bf16 where the
#    CPU runs it natively, else fp32, as capflow resolved it; pipelines/train-cpu.yaml; with
#    pipelines/train-frozen.yaml the peer freezes its encoder too)
#   CEILING=1 bash bench/peer/compare.sh ...: then also the convolution ceiling of issue 16: a
#   third run, the peer profiled (peer_train.py --profile), gives its convolution seconds per
#   step; the ceiling is the peer's unprofiled step time over them, the best ratio a capflow
#   whose convolutions cost what the peer's do could reach, and the ratio is shown as a share.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-data/demo}
steps=${2:-10}
threads=${3:-2}
precision=${4:-auto}
pipeline=${5:-pipelines/train-cpu.yaml}
freeze=""
case "$pipeline" in *frozen*) freeze="--freeze" ;; esac
warmup=2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -f "$data/train_labels.csv" ] || build/capflow data make --out "$data" --count 2000 --no-progress

# The pipeline's decoder node (attention_lstm or transformer_decoder), by name.
decoder=$(/usr/bin/python3 -c 'import sys, yaml
nodes = yaml.safe_load(open(sys.argv[1]))["nodes"]
print(next(k for k, v in nodes.items() if v["kind"] in ("attention_lstm", "transformer_decoder")))' "$pipeline")
build/capflow run "$pipeline" --quiet --out "$out/capflow" --set data.root="$data" \
  --set data.val_root=null --set train.max_steps=$((warmup + steps)) --set resources.threads="$threads" \
  --set nodes.encode.precision="$precision" --set nodes."$decoder".precision="$precision" \
  --set nodes.optimize.checkpoint_every=0 --set nodes.optimize.eval_images=0 >/dev/null
# The peer computes in the precision capflow resolved (summary.json's mfu.precision).
precision=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mfu"]["precision"])' \
  "$out/capflow/summary.json")
# The peer builds the architecture the pipeline ran (capflow's resolved config.yaml).
read -r -a arch < <(/usr/bin/python3 - "$out/capflow/config.yaml" "$decoder" <<'PY'
import sys, yaml
nodes = yaml.safe_load(open(sys.argv[1]))["nodes"]
enc = next(n for n in nodes.values() if n["kind"] == "resnet_encoder")
dec = nodes[sys.argv[2]]
bat = next(n for n in nodes.values() if n["kind"] == "batch")
formula = dec["formula_hidden"] if dec.get("formula_loss", 0) > 0 else 0
atoms = 12 if dec.get("atom_loss", 0) > 0 else 0
smoothing = dec.get("label_smoothing", 0)
sizes = (f"--layers {dec['layers']} --heads {dec['heads']} --ffn {dec['ffn']}"
         if dec["kind"] == "transformer_decoder" else f"--embed {dec['embed']} --attention {dec['attention']}")
print(f"--stages {enc['stages']} --width {enc['width']} --decoder {dec['kind']} --hidden {dec['hidden']} "
      f"{sizes} --dropout {dec['dropout']} --formula-hidden {formula} --atom-classes {atoms} "
      f"--label-smoothing {smoothing} --target {bat.get('target', 'inchi')}")
PY
)
# The peer runs the OpenBLAS kernels capflow runs: capflow asks for the CPU's own where OpenBLAS
# takes it for an older one (docs/training.md#threads), and the peer's LibTorch uses the same
# OpenBLAS, which would otherwise run its SSE3 kernels there.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  core=$(build/capflow info | sed -n 's/^OpenBLAS core: \([A-Za-z0-9]*\) (chosen by capflow.*/\1/p')
  if [ -n "$core" ]; then export OPENBLAS_CORETYPE=$core; fi
fi
peer=(/usr/bin/python3 bench/peer/peer_train.py --data "$data" --steps "$steps" --warmup "$warmup"
  --threads "$threads" --workers 1 --precision "$precision" $freeze "${arch[@]}")
"${peer[@]}" > "$out/peer.json"
if [ "${CEILING:-0}" = 1 ]; then "${peer[@]}" --profile > "$out/peer-profile.json"; fi

/usr/bin/python3 - "$out" "$warmup" <<'PY'
import json, sys
out, warmup = sys.argv[1], int(sys.argv[2])
steps = {}
for line in open(f"{out}/capflow/metrics.jsonl"):
    m = json.loads(line)
    if m.get("node") and "images" in m:
        steps[m["step"]] = (m["images"], m["seconds"])
last = max(steps)
images = steps[last][0] - steps[warmup][0]
capflow = images / (steps[last][1] - steps[warmup][1])
peer = json.load(open(f"{out}/peer.json"))
print(f"capflow (C++, oneTBB flow graph):      {capflow:6.1f} images/s  (steps {warmup + 1}-{last})")
print(f"PyTorch peer (Python, DataLoader x{peer['workers']}): {peer['images_per_second']:6.1f} images/s  "
      f"(steps {warmup + 1}-{warmup + peer['steps']})")
print(f"ratio capflow / peer: {capflow / peer['images_per_second']:.2f}  "
      f"({peer['precision']}, batch {peer['batch']}, {peer['size']}x{peer['size']}, {peer['threads']} threads"
      f"{', frozen encoder' if peer['freeze'] else ''}; encoder stages {peer['stages']} width {peer['width']}, "
      + (f"transformer decoder {peer['hidden']} wide, {peer['layers']} layers, {peer['heads']} heads, "
         f"ffn {peer['ffn']}, " if peer.get('decoder') == 'transformer_decoder' else
         f"decoder {peer['embed']}/{peer['hidden']}/{peer['attention']}, ")
      + f"formula head {peer['formula_hidden']}, "
      f"label smoothing {peer.get('label_smoothing', 0)})")
try:
    conv = json.load(open(f"{out}/peer-profile.json"))["profile"]["convolution_seconds_per_step"]
except FileNotFoundError:
    sys.exit(0)
ceiling = peer["seconds"] / peer["steps"] / conv
print(f"convolution ceiling: {ceiling:.2f} (the peer's step {peer['seconds'] / peer['steps']:.3f} s, "
      f"{conv:.3f} s of it in convolutions, profiled); the ratio is "
      f"{100 * capflow / peer['images_per_second'] / ceiling:.0f}% of it")
PY
