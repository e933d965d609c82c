#!/usr/bin/env bash
# The test suite under sanitizers, each in its own build folder (at nice 19):
#   bash tools/sanitize.sh [asan|tsan] [TEST_BINARY…]
# asan (default): AddressSanitizer + UndefinedBehaviorSanitizer (build-asan); tsan:
# ThreadSanitizer (build-tsan). TEST_BINARY: test executables of tests/CMakeLists.txt
# (test_text, test_engine, …), or `all` for the whole suite (the capflow binary included: long
# on 2 cores). Default for asan: the kernels, engine, distributed and fuzz-replay tests; for
# tsan: test_engine and test_distributed, linked against a oneTBB built with TSan from Debian's
# source package (tools/sanitizers/tbb_tsan.sh; needs dpkg-dev and the network the first
# time). Suppressions, and why each is there, are in
# tools/sanitizers/ (docs/hardening.md). Exit status: ctest's.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-asan}
[[ $# -gt 0 ]] && shift
supp=$root/tools/sanitizers
case $kind in
  asan)
    flags="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined"
    defaults=(test_text test_images test_spec test_data_kernels test_engine test_chem test_report
              test_distributed test_fuzz_regressions);;
  tsan)
    flags="-fsanitize=thread"
    defaults=(test_engine test_distributed);;
  *) echo "usage: tools/sanitize.sh [asan|tsan] [TEST_BINARY…|all]" >&2; exit 2;;
esac
binaries=("$@")
[[ ${#binaries[@]} -eq 0 ]] && binaries=("${defaults[@]}")
build=$root/build-$kind

# TSan needs oneTBB itself instrumented (docs/hardening.md): built once from Debian's source.
extra=()
if [[ $kind == tsan ]]; then
  tbb_dir=$(bash "$root/tools/sanitizers/tbb_tsan.sh" "$build/onetbb") ||
    { echo "sanitize: could not build an instrumented oneTBB (tools/sanitizers/tbb_tsan.sh)" >&2; exit 2; }
  extra=(-DTBB_DIR="$tbb_dir" -DCMAKE_BUILD_RPATH="$build/onetbb/lib")
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAPFLOW_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" "${extra[@]}" >/dev/null || exit 2
if [[ ${binaries[0]} == all ]]; then
  nice -n 19 cmake --build "$build" -j"${CAPFLOW_JOBS:-2}" || exit 2
  labels=()
else
  nice -n 19 cmake --build "$build" -j"${CAPFLOW_JOBS:-2}" --target "${binaries[@]}" || exit 2
  labels=(-L "^($(IFS='|'; echo "${binaries[*]}"))\$")
fi

export ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1
export LSAN_OPTIONS=suppressions=$supp/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp
echo "sanitize: $kind, ${binaries[*]}"
nice -n 19 ctest --test-dir "$build" -j"${CAPFLOW_JOBS:-2}" --output-on-failure "${labels[@]}"
