#!/usr/bin/env bash
# The prepared GPU check (docs/gpu.md): on an x86-64 machine with an NVIDIA GPU, CUDA, python3
# with PyTorch (CUDA), CMake and a C++ compiler but no package registry, from a copy of this
# working tree that carries third_party/debs (tools/fetch_gpu_debs.sh) and a small dataset
# (data/gpu-check, made with `capflow data make` elsewhere):
#   1. unpacks the .deb files into a prefix (no root, nothing installed system-wide),
#   2. configures against PyTorch's LibTorch (torch.utils.cmake_prefix_path) plus that prefix,
#      without chemistry and benchmarks (-DCAPFLOW_CHEMISTRY=OFF -DCAPFLOW_BENCH=OFF),
#   3. builds capflow and the backend-equivalence test with all cores,
#   4. runs the test (encode and lstm on cuda against cpu),
#   5. trains pipelines/train-gpu.yaml for --steps steps, and a few steps of the same pipeline
#      with the model on the CPU cores of the same machine for the ratio,
#   6. writes one JSON object (card, driver, versions, test result, images/s) to --out.
# Every step has a timeout; the whole check is sized to end well within 8 minutes. A failing
# step is named in the JSON ("failed_step", "error") and on stderr, and the exit status is 1.
#   bash tools/gpu_check.sh [--out FILE] [--steps N] [--cpu-steps N] [--data DIR]
#                           [--debs DIR] [--work DIR] [--no-gpu]
# --no-gpu checks the unpack + configure + build path on a machine without a GPU (the test
# then reports its cuda cases skipped, and training runs with the model on the CPU).
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-$root}/gpu_check.json"
steps=60
cpu_steps=3
data="$root/data/gpu-check"
debs="$root/third_party/debs"
work="${TMPDIR:-/tmp}/capflow-gpu-check"
no_gpu=0
steps_given=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --steps) steps="$2"; steps_given=1; shift 2 ;;
    --cpu-steps) cpu_steps="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --debs) debs="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --no-gpu) no_gpu=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# Without a GPU the "GPU" run is on the CPU too: a few steps are enough to prove the path.
[[ $no_gpu -eq 1 && $steps_given -eq 0 ]] && steps=3
prefix="$work/prefix"
build="$work/build"
logs="$work/logs"
export root debs prefix build logs  # read by the steps that run as shell functions
mkdir -p "$work" "$logs" "$(dirname "$out")"
started=$(date +%s)
facts="$work/facts.env"  # key=value lines gathered for the JSON
: > "$facts"
fact() { printf '%s=%s\n' "$1" "$2" >> "$facts"; }

write_json() {  # $1: failed step ("" when all passed), $2: error text
  FAILED="$1" ERROR="$2" FACTS="$facts" WORK="$work" OUTFILE="$out" STARTED="$started" python3 - <<'PY'
import json, os, time
facts = {}
for line in open(os.environ["FACTS"]):
    k, _, v = line.rstrip("\n").partition("=")
    facts[k] = v
def load(path):
    try:
        with open(path) as f: return json.load(f)
    except Exception: return None
def steady(run_dir, skip):
    # images/s between the skip-th optimizer step and the last (warm-up, cuDNN autotuning and
    # the first allocations left out), from metrics.jsonl.
    points = []
    try:
        for line in open(os.path.join(run_dir, "metrics.jsonl")):
            m = json.loads(line)
            if m.get("node") == "optimize" and "images" in m: points.append((m["step"], m["images"], m["seconds"]))
    except Exception: return None
    if len(points) <= skip + 1: return None
    s0, i0, t0 = points[skip]; s1, i1, t1 = points[-1]
    return (i1 - i0) / (t1 - t0) if t1 > t0 else None
def run_result(name, skip):
    d = os.path.join(os.environ["WORK"], name)
    s = load(os.path.join(d, "summary.json"))
    if s is None: return None
    keep = {k: s.get(k) for k in ("images", "seconds", "images_per_second", "steps", "loss_first", "loss_last",
                                  "threads_per_rank", "bottleneck")}
    keep["steady_images_per_second"] = steady(d, skip)
    keep["nodes"] = {n: {k: v.get(k) for k in ("items", "busy_seconds", "busy_fraction")}
                     for n, v in (s.get("nodes") or {}).items()}
    return keep
tests = load(os.path.join(os.environ["WORK"], "logs", "test_cuda_backends.json"))
test = None
if tests is not None:
    cases = [t for s in tests.get("testsuites", []) for t in s.get("testsuite", [])]
    skipped = [t["name"] for t in cases if t.get("result") == "SKIPPED"]
    failed = [t["name"] for t in cases if t.get("failures")]
    test = {"cases": len(cases), "failed": failed, "skipped": skipped,
            "passed": len(cases) - len(failed) - len(skipped),
            "skip_reason": next((f.get("message", "") for s in tests.get("testsuites", []) for t in s.get("testsuite", [])
                                 for f in t.get("skipped", []) if isinstance(f, dict)), None) if skipped else None}
result = {
    "ok": os.environ["FAILED"] == "",
    "failed_step": os.environ["FAILED"] or None,
    "error": os.environ["ERROR"] or None,
    "card": facts.get("card"), "driver": facts.get("driver"), "gpu_memory": facts.get("gpu_memory"),
    "torch": facts.get("torch"), "torch_cuda": facts.get("torch_cuda"), "cmake": facts.get("cmake"),
    "compiler": facts.get("compiler"), "cores": int(facts["cores"]) if facts.get("cores") else None,
    "with_cuda": facts.get("with_cuda") == "ON",
    "seconds": {k[:-8]: float(v) for k, v in facts.items() if k.endswith("_seconds")},
    "equivalence_test": test,
    "train_gpu": run_result("run-gpu", 10),
    "train_cpu_same_machine": run_result("run-cpu", 1),
    "total_seconds": time.time() - float(os.environ["STARTED"]),
}
g, c = result["train_gpu"], result["train_cpu_same_machine"]
if g and c and g.get("images_per_second") and c.get("images_per_second"):
    result["gpu_over_cpu"] = (g.get("steady_images_per_second") or g["images_per_second"]) / c["images_per_second"]
with open(os.environ["OUTFILE"], "w") as f: json.dump(result, f, indent=2)
print(json.dumps(result, indent=2))
PY
}

fail() {  # $1: step, $2: message, $3: log file to show the end of
  echo "gpu_check: FAILED at $1: $2" >&2
  [[ -n "${3:-}" && -f "$3" ]] && tail -40 "$3" >&2
  write_json "$1" "$2${3:+ (log: $3)}"
  exit 1
}

step() {  # $1: name, $2: timeout in seconds, then the command; its output goes to logs/NAME.log
  local name="$1" limit="$2"; shift 2
  local t0; t0=$(date +%s%N)
  echo "gpu_check: $name (at most ${limit}s)" >&2
  if declare -F "$1" >/dev/null; then
    # A shell function: `timeout` runs programs only, so run it in a child bash that has it.
    export -f "$1"
    timeout --kill-after=10 "$limit" bash -c "$*" > "$logs/$name.log" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" > "$logs/$name.log" 2>&1
  fi
  local rc=$?
  fact "${name}_seconds" "$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then fail "$name" "timed out after ${limit}s" "$logs/$name.log"; fi
  [[ $rc -eq 0 ]] || fail "$name" "exit status $rc" "$logs/$name.log"
}

# 0. What is there.
command -v python3 >/dev/null || fail preflight "python3 not found"
command -v cmake >/dev/null || fail preflight "cmake not found"
command -v c++ >/dev/null || command -v g++ >/dev/null || fail preflight "no C++ compiler (c++ or g++)"
fact cores "$(nproc)"
fact cmake "$(cmake --version | head -1 | awk '{print $3}')"
fact compiler "$( (c++ --version || g++ --version) 2>/dev/null | head -1)"
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
fact torch "$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none)"
fact torch_cuda "$(python3 -c 'import torch; print(torch.version.cuda)' 2>/dev/null || echo none)"
if [[ $no_gpu -eq 0 ]]; then
  command -v nvidia-smi >/dev/null || fail preflight "nvidia-smi not found: no NVIDIA driver (use --no-gpu to check the build alone)"
  fact card "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
  fact driver "$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
  fact gpu_memory "$(nvidia-smi --query-gpu=memory.total --format=csv,noheader | head -1)"
  [[ -n "$torch_prefix" ]] || fail preflight "python3 cannot import torch (PyTorch with CUDA is needed)"
  python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    fail preflight "PyTorch sees no CUDA device (torch.cuda.is_available() is False)"
fi
ls "$debs"/*.deb >/dev/null 2>&1 || fail preflight "no .deb files in $debs: run tools/fetch_gpu_debs.sh where apt-get works and carry third_party/debs"
[[ -f "$data/train_labels.csv" ]] || fail preflight "no dataset at $data (train_labels.csv): make it with capflow data make --out data/gpu-check --count 2000 and carry it"

# 1. Unpack the Debian packages into a prefix.
unpack() {
  rm -rf "$prefix" && mkdir -p "$prefix"
  for deb in "$debs"/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$prefix" || return 1
    else  # ar (binutils) and tar: a .deb is an ar archive holding data.tar.*
      local member; member=$(ar t "$deb" | grep '^data\.tar') || return 1
      ar p "$deb" "$member" | tar -x -a -f - -C "$prefix" 2>/dev/null ||
        ar p "$deb" "$member" | tar -x --xz -f - -C "$prefix" || return 1
    fi
  done
  # The packages' .so links are absolute-free (relative) except a few; make every lib link work.
  ls "$prefix/usr/lib/x86_64-linux-gnu" >/dev/null
}
step unpack 60 unpack

arch=x86_64-linux-gnu
libdir="$prefix/usr/lib/$arch"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_LIBDIR="$libdir/pkgconfig:$prefix/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$prefix"
pkg_config="$(command -v pkg-config || true)"
if [[ -z "$pkg_config" ]]; then
  pkg_config="$prefix/usr/bin/pkgconf"
fi

# 2. Configure.
cmake_prefix="$prefix/usr"
[[ -n "$torch_prefix" && -d "$torch_prefix" ]] && cmake_prefix="$torch_prefix;$cmake_prefix"
export cmake_prefix pkg_config libdir
configure() {
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCAPFLOW_CHEMISTRY=OFF -DCAPFLOW_BENCH=OFF \
    -DCMAKE_PREFIX_PATH="$cmake_prefix" -DPKG_CONFIG_EXECUTABLE="$pkg_config" \
    -DCMAKE_BUILD_RPATH="$libdir"
}
step configure 120 configure
if grep -q "the cuda node implementations are built" "$logs/configure.log"; then fact with_cuda ON; else fact with_cuda OFF; fi
if [[ $no_gpu -eq 0 ]] && ! grep -q "with_cuda=ON" "$facts"; then
  fail configure "the LibTorch found has no CUDA (is $torch_prefix PyTorch's CUDA build?)" "$logs/configure.log"
fi

# 3. Build what the check runs.
step build 330 cmake --build "$build" -j "$(nproc)" --target capflow test_cuda_backends

# 4. The backend-equivalence test.
run_test() {
  "$build/tests/test_cuda_backends" --gtest_output="json:$logs/test_cuda_backends.json"
}
step test 180 run_test

# 5. Training: the model on the GPU, then on this machine's CPU cores for the ratio.
devices=()
[[ $no_gpu -eq 1 ]] && devices=(--set nodes.encode.device=cpu --set nodes.lstm.device=cpu)
rm -rf "$work/run-gpu" "$work/run-cpu"
step train_gpu 200 "$build/capflow" run "$root/pipelines/train-gpu.yaml" --quiet --out "$work/run-gpu" \
  --set data.root="$data" --set train.max_steps="$steps" --set resources.threads="$(nproc)" \
  --set nodes.optimize.checkpoint_every=0 "${devices[@]}"
if [[ "$cpu_steps" -gt 0 ]]; then
  step train_cpu 150 "$build/capflow" run "$root/pipelines/train-gpu.yaml" --quiet --out "$work/run-cpu" \
    --set data.root="$data" --set train.max_steps="$cpu_steps" --set resources.threads="$(nproc)" \
    --set nodes.optimize.checkpoint_every=0 --set nodes.encode.device=cpu --set nodes.lstm.device=cpu
fi

# A checkpoint written by the GPU run loads on the CPU (export reads it mapped to the CPU).
step export 90 "$build/capflow" export --checkpoint "$work/run-gpu" --out "$work/export"

# 6. The result.
write_json "" ""
echo "gpu_check: passed; result in $out" >&2
