#!/usr/bin/env bash
# Images per second of `capflow data make`, per thread count and molecule source.
#   bash bench/data_make_rate.sh [COUNT]      (default 2000; needs build/capflow)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-2000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build/capflow info | head -5
for source in real generated; do
  for threads in 1 2; do
    start=$(date +%s%N)
    line=$(build/capflow data make --out "$out/$source-$threads" --count "$count" --source "$source" \
             --threads "$threads" --no-progress | head -1)
    end=$(date +%s%N)
    echo "$source, $threads thread(s): ${line#data make: } | whole command $(( (end - start) / 1000000 )) ms"
  done
done
du -sh "$out/real-2" | awk '{print "size of the real, 2-thread set: " $1}'
