#!/usr/bin/env bash
# A cluster of N "hosts" on this machine: one network namespace per host, joined by veth
# pairs to a bridge in a switch namespace of their own, each link optionally shaped with tc
# (netem rate and delay, or tbf for the rate where the kernel has no netem). One rank runs in each host namespace; traffic stays between the
# namespaces. Everything is torn down on exit, also on failure or Ctrl-C.
#
#   bash bench/netns_cluster.sh [--hosts N] [--rate 1gbit] [--delay 0.5ms] [--token T] -- COMMAND…
#
# Each rank gets RANK, WORLD_SIZE, LOCAL_RANK=0, LOCAL_WORLD_SIZE=1, MASTER_ADDR (host 0's
# address 10.77.0.1), MASTER_PORT, CAPFLOW_JOB_TOKEN and CAPFLOW_RUN_ID; output lines are
# prefixed "[host i] ". Exit status: the first failing rank's; 77 when namespaces cannot be
# made here (not root, no `ip`), with the reason.
set -uo pipefail

hosts=3 rate="" delay="" token="netns-$$-$RANDOM" port=29500
while [[ $# -gt 0 ]]; do
  case "$1" in
    --hosts) hosts="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --delay) delay="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "netns_cluster: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "netns_cluster: no command (… -- COMMAND)" >&2; exit 2; }
[[ "$hosts" =~ ^[0-9]+$ && "$hosts" -ge 1 && "$hosts" -le 200 ]] || { echo "netns_cluster: --hosts 1..200" >&2; exit 2; }

skip() { echo "netns_cluster: SKIPPED: $*" >&2; exit 77; }
command -v ip >/dev/null || skip "no 'ip' command (Debian package iproute2)"
[[ $(id -u) -eq 0 ]] || skip "making network namespaces needs root (CAP_NET_ADMIN)"

tag="cf$$"
sw="${tag}-sw"
cleanup() {
  for ((i = 0; i < hosts; i++)); do ip netns del "${tag}-h$i" 2>/dev/null; done
  ip netns del "$sw" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$sw" 2>/dev/null || skip "'ip netns add' failed (no permission for namespaces here)"
ip -n "$sw" link add br0 type bridge && ip -n "$sw" link set br0 up && ip -n "$sw" link set lo up || exit 1
# Shaping: netem (rate and delay) where the kernel has it, else tbf (rate only; the delay
# is then left out, and said so).
shaper=""
if [[ -n "$rate$delay" ]]; then
  ip netns exec "$sw" tc qdisc add dev lo root netem delay 1ms 2>/dev/null && shaper=netem || shaper=tbf
  ip netns exec "$sw" tc qdisc del dev lo root 2>/dev/null
  if [[ $shaper == tbf && -n "$delay" ]]; then
    echo "netns_cluster: this kernel has no netem qdisc: --delay $delay is not applied (rate only, with tbf)" >&2
    delay=""
  fi
fi
shape_link() {  # namespace
  [[ -z "$rate$delay" ]] && return 0
  if [[ $shaper == netem ]]; then
    tc -n "$1" qdisc add dev eth0 root netem ${delay:+delay $delay} ${rate:+rate $rate}
  else
    tc -n "$1" qdisc add dev eth0 root tbf rate "$rate" burst 256kb latency 50ms
  fi
}
for ((i = 0; i < hosts; i++)); do
  ns="${tag}-h$i"
  ip netns add "$ns" || exit 1
  ip link add "${tag}h$i" netns "$ns" type veth peer name "p$i" netns "$sw" || exit 1
  ip -n "$ns" link set "${tag}h$i" name eth0
  ip -n "$ns" addr add "10.77.0.$((i + 1))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$sw" link set "p$i" master br0
  ip -n "$sw" link set "p$i" up
  shape_link "$ns" || { echo "netns_cluster: tc ($shaper) failed on host $i" >&2; exit 1; }
done
echo "netns_cluster: $hosts hosts 10.77.0.1-$hosts${rate:+, rate $rate}${delay:+, delay $delay}${shaper:+ ($shaper)} (namespaces ${tag}-h*)" >&2

run_id="netns-$(date +%Y%m%d-%H%M%S)-$$"
pids=()
for ((i = 0; i < hosts; i++)); do
  ip netns exec "${tag}-h$i" env RANK="$i" WORLD_SIZE="$hosts" LOCAL_RANK=0 LOCAL_WORLD_SIZE=1 \
    MASTER_ADDR=10.77.0.1 MASTER_PORT="$port" CAPFLOW_JOB_TOKEN="$token" CAPFLOW_RUN_ID="$run_id" \
    "$@" > >(sed -u "s/^/[host $i] /") 2>&1 &
  pids+=($!)
done
status=0
for ((i = 0; i < hosts; i++)); do
  wait "${pids[$i]}"; rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "netns_cluster: host $i (rank $i) ended with status $rc" >&2
    [[ $status -eq 0 ]] && status=$rc
  fi
done
exit $status
