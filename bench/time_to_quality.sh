#!/usr/bin/env bash
# Time to quality (MLPerf Training's measure, docs/benchmarks.md): trains a shipped pipeline
# from scratch on a made training set (the real molecules not held out, then generated ones),
# evaluates it every few minutes on a held-out set of REAL molecules absent from training,
# then prints the curve and the training time to a held-out
# mean Levenshtein of 60, 40, 20 and 10. Writes RUN/time_to_quality.json.
#   bash bench/time_to_quality.sh [PIPELINE] [options]          (an hour by default)
#   bash bench/time_to_quality.sh --report RUN                  (the table of a finished run)
# Exit status: 0 done (targets reached or not), 77 no build, 2 bad usage, 1 a failed step.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: bash bench/time_to_quality.sh [PIPELINE] [options]
  --pipeline FILE          training pipeline (default pipelines/train-cpu.yaml)
  --seconds S              training budget, train.max_seconds (default 3600)
  --train-count N          generated training images (default 20000)
  --holdout-count N        held-out images of real molecules not in training (default 500)
  --train-source SOURCE    molecules of the training set: both (real ones not held out, then
                           generated ones; default) or generated
  --train-drawings N       pictures of each training molecule (`data make --drawings N`; default 1)
  --seed S                 dataset seed; the held-out set uses S+1 (default 1)
  --train-dir DIR          training set (default data/ttq-SOURCE-N-sS, -dN added with drawings;
                           reused when present)
  --holdout-dir DIR        held-out set (default data/ttq-holdout-real-N-sS+1; reused when present)
  --eval-every-seconds S   evaluate every S training seconds (default 300; needs the optimizer's
                           eval_every_seconds argument)
  --eval-every N           evaluate every N steps instead (the fallback when the optimizer has
                           no eval_every_seconds; default there 100)
  --eval-images N          images per evaluation (default: the whole held-out set)
  --out RUN                run folder (default runs/ttq-<pipeline>-<date>-<time>)
  --set KEY=VALUE          passed on to capflow run (repeatable)
  --final-beam K           after training, score the last checkpoint on the held-out set with
                           beam search of width K (`capflow eval --beam K`, the best valid
                           hypothesis; outside the training budget) into RUN/final_eval.json
  --ranks N                N local ranks (`capflow launch -n N`; each rank's threads split the
                           cores, the time-bound schedule agreed across them; default 1)
  --report RUN             only read RUN/metrics.jsonl: print the table, write the JSON
  --bin PATH               the capflow binary (default build/capflow, or $CAPFLOW)
EOF
}

pipeline=pipelines/train-cpu.yaml
seconds=3600
train_count=20000
holdout_count=500
train_source=both
train_drawings=1
seed=1
train_dir=""
holdout_dir=""
eval_seconds=""
eval_steps=""
eval_images=""
out=""
report_only=""
bin=${CAPFLOW:-build/capflow}
ranks=1
final_beam=0
extra=()

need_value() {  # OPTION VALUE...: the option has a value
  [[ $# -ge 2 ]] || { echo "time_to_quality: $1 needs a value" >&2; usage >&2; exit 2; }
}

parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h|--help) usage; exit 0 ;;
      --pipeline) need_value "$@"; pipeline=$2; shift ;;
      --seconds) need_value "$@"; seconds=$2; shift ;;
      --train-count) need_value "$@"; train_count=$2; shift ;;
      --holdout-count) need_value "$@"; holdout_count=$2; shift ;;
      --train-source) need_value "$@"; train_source=$2; shift ;;
      --train-drawings) need_value "$@"; train_drawings=$2; shift ;;
      --seed) need_value "$@"; seed=$2; shift ;;
      --train-dir) need_value "$@"; train_dir=$2; shift ;;
      --holdout-dir) need_value "$@"; holdout_dir=$2; shift ;;
      --eval-every-seconds) need_value "$@"; eval_seconds=$2; shift ;;
      --eval-every) need_value "$@"; eval_steps=$2; shift ;;
      --eval-images) need_value "$@"; eval_images=$2; shift ;;
      --out) need_value "$@"; out=$2; shift ;;
      --set) need_value "$@"; extra+=(--set "$2"); shift ;;
      --ranks) need_value "$@"; ranks=$2; shift ;;
      --final-beam) need_value "$@"; final_beam=$2; shift ;;
      --report) need_value "$@"; report_only=$2; shift ;;
      --bin) need_value "$@"; bin=$2; shift ;;
      -*) echo "time_to_quality: unknown option $1" >&2; usage >&2; exit 2 ;;
      *) pipeline=$1 ;;
    esac
    shift
  done
}

check_build() {
  if [[ ! -x "$bin" ]]; then
    echo "time_to_quality: skipped: no capflow binary at $bin (build it: cmake -S . -B build" \
         "-DCMAKE_BUILD_TYPE=Release && cmake --build build --target capflow)" >&2
    exit 77
  fi
  command -v python3 > /dev/null || { echo "time_to_quality: skipped: no python3 (reads metrics.jsonl)" >&2; exit 77; }
}

# Makes DIR with `capflow data make ARGS…`, or reuses it when a finished one is there.
make_or_reuse() {
  local what=$1 dir=$2
  shift 2
  if [[ -f "$dir/dataset.json" && -f "$dir/train_labels.csv" ]]; then
    echo "== $what: reusing $dir ($(($(wc -l < "$dir/train_labels.csv") - 1)) images)"
    return
  fi
  echo "== $what: making $dir ($*)"
  local start=$SECONDS
  "$bin" data make --out "$dir" "$@"
  echo "== $what: made in $((SECONDS - start)) s"
}

# The held-out real molecules are drawn first; the training set excludes them, so it can still
# use every other real molecule (--train-source both: real ones first, then generated ones).
make_datasets() {
  holdout_dir=${holdout_dir:-data/ttq-holdout-real-$holdout_count-s$((seed + 1))}
  local drawn=""
  [[ "$train_drawings" == 1 ]] || drawn="-d$train_drawings"
  train_dir=${train_dir:-data/ttq-$train_source-$train_count-s$seed$drawn}
  make_or_reuse "held-out set (real molecules)" "$holdout_dir" \
    --source real --count "$holdout_count" --seed "$((seed + 1))"
  make_or_reuse "training set ($train_source molecules, none of the held-out ones)" "$train_dir" \
    --source "$train_source" --count "$train_count" --seed "$seed" --drawings "$train_drawings" \
    --exclude "$holdout_dir/train_labels.csv"
}

# The training set must exclude the held-out molecules, stereo variants included (the maker's
# --exclude compares constitutions since dataset.json has "exclude_match": "constitution").
check_exclusion() {
  python3 - "$train_dir" "$holdout_dir" <<'PY' || exit 2
import json, os, sys
train, holdout = sys.argv[1], sys.argv[2]
info = json.load(open(os.path.join(train, "dataset.json")))
labels = os.path.realpath(os.path.join(holdout, "train_labels.csv"))
if not any(os.path.realpath(p) == labels for p in info.get("exclude", [])):
    sys.exit(f"time_to_quality: {train} was not made with --exclude {holdout}/train_labels.csv: "
             "held-out molecules may be in it; make it with that option, or remove it to have it made")
if info.get("exclude_match") != "constitution":
    sys.exit(f"time_to_quality: {train} was made by an older capflow whose --exclude compared whole "
             "InChIs, so stereo variants of held-out molecules can be in it; remove it to have it "
             "made again, or pass a --train-dir made by this build")
PY
}

# The evaluation schedule: eval_every_seconds when the optimizer has it, else eval_every steps.
eval_settings() {
  local kinds
  kinds=$("$bin" nodes --markdown)
  if [[ -z "$eval_steps" && "$kinds" != *eval_every_seconds* ]]; then
    eval_steps=100
    echo "note: this build's optimizer has no eval_every_seconds; evaluating every $eval_steps steps" \
         "(--eval-every N to change)" >&2
  fi
  if [[ -n "$eval_steps" ]]; then
    echo "--set nodes.optimize.eval_every=$eval_steps"
  else
    echo "--set nodes.optimize.eval_every_seconds=${eval_seconds:-300}"
  fi
}

# Prints each held-out evaluation as it lands in RUN/metrics.jsonl, until process PID ends.
watch_evaluations() {
  local line re='"eval.levenshtein_mean":([^,}]*).*"seconds":([0-9.]*).*"step":([0-9]*)'
  tail -n +1 -F --pid="$2" "$1/metrics.jsonl" 2>/dev/null | while IFS= read -r line; do
    [[ $line =~ $re ]] || continue
    printf '  evaluation at step %s, %.0f s into the run: held-out Levenshtein %s\n' \
      "${BASH_REMATCH[3]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[1]}"
  done
}

train() {
  out=${out:-runs/ttq-$(basename "$pipeline" .yaml)-$(date +%Y%m%d-%H%M%S)}
  local schedule
  read -r -a schedule <<< "$(eval_settings)"
  local launcher=()
  [[ "$ranks" == 1 ]] || launcher=("$bin" launch -n "$ranks" --)
  echo "== training $pipeline for $seconds s into $out on $ranks rank(s) (progress every 10 s;" \
       "evaluations below)"
  mkdir -p "$out"
  "${launcher[@]}" "$bin" run "$pipeline" --out "$out" --set "data.root=$train_dir" --set "data.val_root=$holdout_dir" \
    --set "train.max_seconds=$seconds" --set "nodes.optimize.eval_images=${eval_images:-$holdout_count}" \
    "${schedule[@]}" "${extra[@]}" > "$out/run.log" &
  local pid=$! status=0
  trap 'kill -INT $pid 2>/dev/null' INT TERM  # capflow stops cleanly, with a checkpoint
  watch_evaluations "$out" "$pid" || true
  wait "$pid" || status=$?
  trap - INT TERM
  if [[ $status -ne 0 ]]; then
    cat "$out/run.log"
    echo "time_to_quality: capflow run failed (status $status); see $out/run.log" >&2
    exit 1
  fi
  grep -E '^(training|evaluation on)' "$out/run.log" || true
}

# With --final-beam K: the last checkpoint scored by beam search on the whole held-out set,
# after the training budget (evaluation is not training), into RUN/final_eval.json.
final_evaluation() {
  [[ "$final_beam" -gt 0 ]] || return 0
  echo "== final evaluation: beam $final_beam on $holdout_dir"
  if "$bin" eval --checkpoint "$out" --data "$holdout_dir" --beam "$final_beam" > "$out/final_eval.json.tmp"; then
    mv "$out/final_eval.json.tmp" "$out/final_eval.json"
  else  # the curve is still worth its report
    rm -f "$out/final_eval.json.tmp"
    echo "time_to_quality: the final evaluation failed (above); reporting the greedy curve only" >&2
  fi
}

# The curve, the time to each target, and RUN/time_to_quality.json, from RUN/metrics.jsonl
# (and RUN/config.yaml, RUN/summary.json for the budget, the datasets and the pipeline).
report() {
  [[ -f "$1/metrics.jsonl" ]] || { echo "time_to_quality: no $1/metrics.jsonl" >&2; exit 2; }
  python3 - "$1" <<'PY'
import json, os, re, sys
run = sys.argv[1]
targets = [60, 40, 20, 10]

def config_values(path):  # {"section.key": "value"} of the resolved config's block layout
    values, section = {}, ""
    for line in open(path) if os.path.exists(path) else []:
        top = re.match(r"^(\w+):", line)
        sub = re.match(r"^  (\w+): *(.*?)\s*$", line)
        if top:
            section = top.group(1)
        elif sub:
            values[f"{section}.{sub.group(1)}"] = sub.group(2).strip('"')
    return values

def eval_rows_by_step(path):
    steps = {}
    for line in open(path):
        try:
            m = json.loads(line)
        except ValueError:
            continue  # a run killed mid-write leaves half a line
        if "node" not in m or "step" not in m:
            continue
        s = steps.setdefault(m["step"], {})
        for k, v in m.items():
            if k.startswith("eval."):
                s[k[5:]] = v
                if k == "eval.levenshtein_mean":
                    s["wall_seconds"] = m["seconds"]
    return steps

def curve_of(steps):  # eval.train_seconds of the step when recorded, else the row's seconds
    curve = []
    for step in sorted(steps):
        s = steps[step]
        if "levenshtein_mean" in s:
            curve.append({"step": step, "seconds": s.get("train_seconds", s["wall_seconds"]),
                          "clock": "training" if "train_seconds" in s else "wall",
                          "levenshtein": s["levenshtein_mean"], "exact_match": s.get("exact_match"),
                          "valid_inchi_fraction": s.get("valid_inchi_fraction")})
    return curve

def pct(v):
    return "-" if v is None else f"{100 * v:.1f}"

config = config_values(f"{run}/config.yaml")
budget = float(config.get("train.max_seconds", "0") or 0)
curve = curve_of(eval_rows_by_step(f"{run}/metrics.jsonl"))
print(f"\n{'minutes':>8} {'step':>7} {'Levenshtein':>12} {'exact %':>8} {'valid %':>8}")
for p in curve:
    print(f"{p['seconds'] / 60:8.1f} {p['step']:7d} {p['levenshtein']:12.2f} "
          f"{pct(p['exact_match']):>8} {pct(p['valid_inchi_fraction']):>8}")
best = min(curve, key=lambda p: p["levenshtein"]) if curve else None
results = []
print()
for t in targets:
    hit = next((p for p in curve if p["levenshtein"] <= t), None)
    if hit:
        line = f"{hit['seconds'] / 60:.1f} min (step {hit['step']})"
    elif best:
        line = f"not reached in {budget:.0f} s (best {best['levenshtein']:.1f} at {best['seconds'] / 60:.1f} min)"
    else:
        line = f"not reached in {budget:.0f} s (no evaluation)"
    print(f"Levenshtein <= {t}: {line}")
    results.append({"target": t, "reached": hit is not None,
                    "seconds": hit["seconds"] if hit else None, "step": hit["step"] if hit else None})
final_eval = None
if os.path.exists(f"{run}/final_eval.json"):
    e = json.load(open(f"{run}/final_eval.json"))
    final_eval = {"beam": e.get("beam"), "prefer_valid": e.get("prefer_valid"),
                  "levenshtein": e["levenshtein_mean"], "exact_match": e.get("exact_match"),
                  "valid_inchi_fraction": e.get("valid_inchi_fraction"), "images": e.get("images")}
    print(f"last checkpoint, beam {final_eval['beam']}: Levenshtein {final_eval['levenshtein']:.2f}, "
          f"exact {pct(final_eval['exact_match'])} %, valid {pct(final_eval['valid_inchi_fraction'])} % "
          f"({final_eval['images']} images; greedy above)")
if any(p["clock"] == "wall" for p in curve):
    print("note: evaluations without eval.train_seconds are placed at wall time (evaluations included)")
summary = json.load(open(f"{run}/summary.json")) if os.path.exists(f"{run}/summary.json") else {}
out = {"run": run, "pipeline": summary.get("pipeline"), "train_data": config.get("data.root"),
       "held_out_data": config.get("data.val_root"), "max_seconds": budget,
       "images_per_second": summary.get("images_per_second"), "targets": results, "best": best,
       "final": curve[-1] if curve else None, "final_beam": final_eval, "curve": curve}
with open(f"{run}/time_to_quality.json", "w") as f:
    json.dump(out, f, indent=2)
print(f"\nwrote {run}/time_to_quality.json")
PY
}

main() {
  parse_args "$@"
  if [[ -n "$report_only" ]]; then
    command -v python3 > /dev/null || { echo "time_to_quality: no python3" >&2; exit 77; }
    report "$report_only"
    return
  fi
  check_build
  [[ -f "$pipeline" ]] || { echo "time_to_quality: no pipeline $pipeline" >&2; exit 2; }
  [[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "time_to_quality: --ranks needs a count >= 1, got $ranks" >&2; exit 2; }
  [[ "$final_beam" =~ ^[0-9]+$ ]] || { echo "time_to_quality: --final-beam needs a width, got $final_beam" >&2; exit 2; }
  "$bin" info | sed -n 1,3p
  make_datasets
  check_exclusion
  train
  final_evaluation
  report "$out"
}

main "$@"
