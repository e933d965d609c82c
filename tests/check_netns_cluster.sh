#!/usr/bin/env bash
# A small training job across 3 "hosts" (network namespaces joined by shaped veth links),
# one rank each, rendezvous and Gloo over the namespaces' addresses with a job token.
# Skipped (exit 77, reason printed) where namespaces cannot be made.
set -uo pipefail
bin="$1" src="$2"
work=$(mktemp -d /tmp/capflow-netns.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bin" data make --out "$work/data" --count 48 --seed 21 --no-progress >/dev/null || exit 1
bash "$src/bench/netns_cluster.sh" --hosts 3 --rate 1gbit --delay 0.2ms -- \
  "$bin" run "$src/tests/pipelines/tiny-train.yaml" --quiet --out "$work/run" --set data.root="$work/data" \
  --set resources.threads=1 --set nodes.optimize.eval_images=0 --set train.max_steps=3 > "$work/log" 2>&1
rc=$?
cat "$work/log"
[[ $rc -eq 77 ]] && exit 77
[[ $rc -eq 0 ]] || { echo "FAILED: the 3-host job exited $rc"; exit 1; }
grep -q '"world_size": 3' "$work/run/summary.json" || { echo "FAILED: summary.json lacks world_size 3"; exit 1; }
[[ -e "$work/run/checkpoints/step-00000003.pt" ]] || { echo "FAILED: no checkpoint of step 3"; exit 1; }
grep -q "^\[host 2\] run folder: $work/run/rank-2" "$work/log" || { echo "FAILED: rank 2 did not finish"; exit 1; }
echo "OK: 3 hosts trained 3 steps together"
