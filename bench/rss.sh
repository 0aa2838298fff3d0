#!/usr/bin/env bash
# nanolet's memory and housekeeping CPU: RSS idle with no pods, with 100 pods (and with 500 when asked),
# the container monitors' RSS, and nanolet's CPU over 60 s idle with 100 pods. Targets (issue 8): RSS at
# most 15 MiB idle and 40 MiB with 100 pods, idle CPU under 1% of one core. Beside each: the breakdown
# (anonymous vs file-backed RSS and PSS from /proc/PID/smaps_rollup, threads), to tell heap from mapped
# code and shared libraries. Allocator experiments go through the environment, e.g. MALLOC_ARENA_MAX=2.
# Prints a table and merges its figures into bench/results.json.
# Usage: bench/rss.sh BUILD_DIR [POD_COUNTS (default "100"; e.g. "100 500")] [CPU_SECONDS (default 60)]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); COUNTS=${2:-100}; CPU_SECS=${3:-60}
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
source "$NANOLET_SRC/tests/e2e/lib.sh"
no_pods() { [[ $(pods_json | jq '.items | length') == 0 ]]; }
# 500 pods need more than the /24 lib.sh gives each test.
export NANOLET_CNI_SUBNET=10.233.0.0/16
ensure_image

kib() { awk -v k="$1" '$1==k":" {print $2}' "/proc/$NANOLET_PID/${2:-status}"; }
rollup() { awk -v k="$1" '$1==k":" {print $2}' "/proc/$NANOLET_PID/smaps_rollup"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$NANOLET_PID/stat"; }
running_count() { pods_json | jq '[.items[] | select(.status.phase=="Running")] | length'; }
pod_count() { pods_json | jq '.items | length'; }
monitor_rss_avg() {  # average VmRSS (KiB) of this run's container monitors, and their count
  local pids; pids=$(pgrep -f "nanolet-monitor.*$ROOT" || true)
  [[ -z $pids ]] && { echo "0 0"; return; }
  for p in $pids; do awk '$1=="VmRSS:" {print $2}' "/proc/$p/status" 2>/dev/null; done |
    awk '{s+=$1; n++} END {printf "%d %d\n", s/n, n}'
}

declare -A R
row() {  # LABEL -> one table row of the current process state
  local rss anon file thr pss
  rss=$(kib VmRSS); anon=$(rollup Anonymous); file=$(( $(rollup Rss) - anon )); thr=$(kib Threads)
  pss=$(rollup Pss)
  printf '%-28s %9s %9s %9s %9s %8s\n' "$1" "$(mib "$rss")" "$(mib "$anon")" "$(mib "$file")" "$(mib "$pss")" "$thr"
  R[$2.rss_kib]=$rss; R[$2.anon_kib]=$anon; R[$2.file_kib]=$file; R[$2.pss_kib]=$pss; R[$2.threads]=$thr
}

write_pods() {  # FROM TO
  for i in $(seq "$1" "$2"); do
    cat >"$MANIFESTS/r$i.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: r$i}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: app, image: nanolet.local/busybox:1.35, command: ["sleep", "36000"]}
YAML
  done
}

max=$(tr ' ' '\n' <<<"$COUNTS" | sort -n | tail -1)
# Upstream's default periods (the e2e tests' 10 s resync and 1 s manifest re-check would inflate idle CPU):
# a full resync every minute, the manifest directory re-listed every 20 s (inotify sees changes at once).
export SYNC_FREQUENCY=${SYNC_FREQUENCY:-1m} FILE_CHECK_FREQUENCY=${FILE_CHECK_FREQUENCY:-20s}
start_nanolet --max-pods $(( max + 10 ))
sleep 5  # settle: startup work (image store, CNI config, first relist) done
printf '%-28s %9s %9s %9s %9s %8s\n' "nanolet memory (MiB)" RSS anon file PSS threads
row "idle, no pods" idle
have=0
for n in $COUNTS; do
  write_pods $(( have + 1 )) "$n"; have=$n
  t0=$(date +%s)
  until (( $(running_count) >= n )); do
    if (( $(date +%s) - t0 > n * 3 + 60 )); then
      pods_json | jq -c '[.items[] | [.status.phase, (.status.containerStatuses[0].state | keys[0]),
        .status.containerStatuses[0].state.waiting.reason]] | group_by(.) | map([.[0], length])' >&2
      fail "$n pods not Running after $(( n * 3 + 60 )) s"
    fi
    sleep 1
  done
  log "$n pods Running after $(( $(date +%s) - t0 )) s"
  sleep 10  # settle: statuses published, relists done
  row "$n pods Running" "pods$n"
  read -r mavg mcount < <(monitor_rss_avg)
  R[pods$n.monitor_rss_kib]=$mavg; R[pods$n.monitors]=$mcount
  if [[ $n == 100 ]]; then
    t0=$(cpu_ticks); sleep "$CPU_SECS"; t1=$(cpu_ticks)
    R[cpu_pct]=$(awk -v d=$(( t1 - t0 )) -v hz="$(getconf CLK_TCK)" -v s="$CPU_SECS" 'BEGIN{printf "%.2f", 100*d/hz/s}')
    row "100 pods, after ${CPU_SECS}s idle" pods100_later
  fi
done
echo
printf 'monitor RSS per container: %s KiB average over %s monitors (at %s pods)\n' \
  "${R[pods$max.monitor_rss_kib]}" "${R[pods$max.monitors]}" "$max"
[[ -n ${R[cpu_pct]:-} ]] && printf 'nanolet CPU over %s s idle with 100 pods: %s%% of one core (target < 1%%)\n' "$CPU_SECS" "${R[cpu_pct]}"
echo "targets: idle RSS <= 15 MiB ($(mib "${R[idle.rss_kib]}")), 100 pods <= 40 MiB ($(mib "${R[pods100.rss_kib]:-0}"))"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# Stop the pods through nanolet before the cleanup trap (faster than the trap's runc delete of each).
rm -f "$MANIFESTS"/r*.yaml
wait_for "all pods gone" $(( max + 60 )) no_pods

json=$(for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done |
  jq -Rn '[inputs | split("\t") | {key: .[0], value: (.[1] | tonumber)}] | from_entries | {rss: .}')
out=$NANOLET_SRC/bench/results.json
[[ -s $out ]] || echo '{}' >"$out"
jq --argjson n "$json" '. * $n' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
