#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, a separate build folder with
# -DCAPFLOW_FUZZ=ON) and runs each for SECONDS (default 60), one after the other, at nice 19.
#   bash tools/fuzz.sh [SECONDS] [TARGET…]     targets: pipeline png jpeg labels_csv inchi
#                                               smiles checkpoint rendezvous_wire (default: all)
# Corpora grow in build-fuzz/fuzz-work/corpus/<target> (seeded from fuzz/seeds, the
# repository's pipelines, test strings and regression inputs); a crash, leak or slow input is
# written to build-fuzz/fuzz-work/findings/<target>/. Once fixed, copy it to
# tests/fuzz_regressions/<target>/: the normal test suite replays it (FuzzRegressions.*).
# Needs clang and libFuzzer (Debian: apt-get install clang libclang-rt-14-dev).
# Environment: CAPFLOW_FUZZ_BUILD (default build-fuzz), CAPFLOW_FUZZ_JOBS (build jobs, 2).
# Exit status: 0 when no target found anything, 1 otherwise.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(pipeline png jpeg labels_csv inchi smiles checkpoint rendezvous_wire)
build=${CAPFLOW_FUZZ_BUILD:-$root/build-fuzz}
work=$build/fuzz-work

command -v clang++ >/dev/null || { echo "fuzz: no clang++ (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
if [[ ! -f $build/CMakeCache.txt ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCAPFLOW_FUZZ=ON \
    -DCAPFLOW_BENCH=OFF >/dev/null || exit 2
fi
nice -n 19 cmake --build "$build" -j"${CAPFLOW_FUZZ_JOBS:-2}" --target "${targets[@]/#/fuzz_}" >/dev/null ||
  { echo "fuzz: build failed (cmake --build $build)" >&2; exit 2; }

# One file per line of stdin, named by its line number.
lines_to_files() {
  local dir=$1 prefix=$2 n=0
  while IFS= read -r line; do
    [[ -n $line ]] && printf '%s' "$line" >"$dir/$prefix-$((n += 1))"
  done
}

seed() {
  local t=$1 dir=$work/corpus/$1
  mkdir -p "$dir"
  cp -n "$root"/fuzz/seeds/"$t"/* "$root"/tests/fuzz_regressions/"$t"/* "$dir"/ 2>/dev/null
  case $t in
    pipeline)
      cp -n "$root"/pipelines/*.yaml "$root"/tests/pipelines/*.yaml "$dir"/
      printf '%s\0train.max_steps=3\0nodes.batch.size=[4]\0data.root=x' "$(cat "$root/pipelines/data-only.yaml")" \
        >"$dir/data-only-with-overrides";;
    inchi)
      grep -rhoE 'InChI=1S/[^" \\]+' "$root"/tests "$root"/nodes "$root"/docs | sort -u | head -200 |
        lines_to_files "$dir" repo;;
    smiles)
      { cut -f1 -d' ' /usr/share/RDKit/Data/NCI/first_5K.smi 2>/dev/null | head -100
        grep -rhoE 'tokenize_smiles\("[^"]+"' "$root"/tests | sed 's/.*("//; s/"$//'; } |
        lines_to_files "$dir" repo;;
    checkpoint)
      CAPFLOW_FUZZ_WRITE_CHECKPOINT_SEED=$dir/fields-only.pt "$build/fuzz/fuzz_checkpoint" -runs=0 \
        >/dev/null 2>&1;;
  esac
}

found=0
summary=()
for t in "${targets[@]}"; do
  seed "$t"
  findings=$work/findings/$t
  mkdir -p "$findings"
  before=$(ls "$findings" | wc -l)
  log=$work/$t.log
  echo "fuzz: $t for $seconds s ($(ls "$work/corpus/$t" | wc -l) inputs in its corpus)"
  LSAN_OPTIONS=suppressions=$root/tools/sanitizers/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS} \
    nice -n 19 "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$work/corpus/$t" >"$log" 2>&1
  status=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  new=$(($(ls "$findings" | wc -l) - before))
  [[ $status -ne 0 || $new -gt 0 ]] && found=1
  summary+=("$(printf '%-16s %6s s %10s runs  exit %3s  findings %s' "$t" "$seconds" "${execs:-?}" "$status" "$new")")
  [[ $status -ne 0 ]] && grep -E '^==[0-9]+==ERROR|^SUMMARY|capflow fuzz:|deadly signal|Test unit written' "$log" | head -5
done
printf '%s\n' "${summary[@]}"
echo "fuzz: logs and findings in $work"
exit $found
