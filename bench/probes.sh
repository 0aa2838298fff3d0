#!/usr/bin/env bash
# Probe cost and reaction time on real runc and CNI.
# 1. PODS pods x CONTAINERS containers, each container with an httpGet liveness and an httpGet readiness
#    probe every 10 s against the pod's one busybox httpd (the first container; all share the pod's network
#    namespace): PODS*CONTAINERS*2 probes (default 1,000). Once every probe has passed (all pods Ready),
#    nanolet's CPU time (utime+stime of its process) is sampled over SECONDS s: the figure is the average
#    share of one core. Target < 2 %. The floor, in the same run: bench/probe_floor.c, a minimal blocking C
#    client making the same number of httpGet requests per second to the same pods (one connection each, as
#    the kubelet; as many back to back as nanolet's 100 ms probe grid puts in one slot), its own CPU time
#    over the same window. Most of a probe's cost is the kernel's TCP work
#    (both ends of the connection run in the caller's context through veth and bridge), so this is the
#    least any kubelet pays for these probes on this machine.
# 2. Probe failure -> container killed: a pod whose httpd (PID 1, ignores SIGTERM) has a liveness probe
#    (period PERIOD s, failureThreshold 1, probe-level terminationGracePeriodSeconds GRACE s); the served
#    file is removed and the time until the container is dead (a new container ID) is measured, RUNS times.
#    Bound: one period plus the grace (plus the restart itself).
# Prints a table and merges {"probes": ...} into bench/results.json.
# Usage: bench/probes.sh BUILD_DIR [PODS] [CONTAINERS] [SECONDS] [RUNS]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); PODS=${2:-50}; CONTAINERS=${3:-10}; SECONDS_CPU=${4:-60}; RUNS=${5:-3}
PERIOD=2; GRACE=1
# NOPROBES=1: the same pods without probes, for the baseline CPU of nanolet itself (syncs, housekeeping).
NOPROBES=${NOPROBES:-0}
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
# nanolet as a user runs it: the upstream defaults (lib.sh's tests resync every 10 s and rescan the manifests
# every second: 6x the pod syncs of a real node).
export SYNC_FREQUENCY=${SYNC_FREQUENCY:-1m} FILE_CHECK_FREQUENCY=${FILE_CHECK_FREQUENCY:-20s}
source "$NANOLET_SRC/tests/e2e/lib.sh"
ensure_image
IMG=nanolet.local/busybox:1.35
HTTPD='mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'
PROBES=$(( PODS * CONTAINERS * 2 ))

start_nanolet
for p in $(seq "$PODS"); do
  {
    cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: pr$p}
spec:
  terminationGracePeriodSeconds: 0
  containers:
YAML
    for c in $(seq "$CONTAINERS"); do
      if (( c == 1 )); then cmd="[\"sh\", \"-c\", \"$HTTPD\"]"; else cmd='["sleep", "3600"]'; fi
      cat <<YAML
  - name: c$c
    image: $IMG
    command: $cmd
YAML
      (( NOPROBES )) || cat <<YAML
    livenessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 10, failureThreshold: 3}
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 10}
YAML
    done
  } >"$E2E_TMP/pr$p.yaml"
  mv "$E2E_TMP/pr$p.yaml" "$MANIFESTS/pr$p.yaml"  # whole files only: a half-written one is another pod
done
t0=$(date +%s)
ready_count() { pods_json | jq '[.items[] | select(.status.conditions[]? | select(.type=="Ready" and .status=="True"))] | length'; }
all_pods_ready() { [[ $(ready_count) == "$PODS" ]]; }
wait_for "$PODS pods Ready (every readiness probe passed)" 600 all_pods_ready
log "$PODS pods x $CONTAINERS containers Ready in $(( $(date +%s) - t0 )) s; settling 10 s"
sleep 10  # let the startup burst (pod syncs, first probes) pass before measuring the steady state

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$NANOLET_PID/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$NANOLET_PID/stat"; }
# Per thread (name and utime+stime), to see where the time goes.
thread_ticks() { for t in /proc/$NANOLET_PID/task/*; do awk -v t="${t##*/}" '{sub(/^[0-9]+ \(/, ""); split($0, a, ") "); split(a[2], f, " "); print t, a[1], f[12] + f[13]}' "$t/stat" 2>/dev/null; done; }
ops() { curl -sf "$API/metrics" | awk -v op="$1" '$1 ~ "^kubelet_runtime_operations_total" && index($1, "\"" op "\"") {s += $NF} END {print s + 0}'; }
thread_ticks >"$E2E_TMP/threads0"
lists0=$(ops list_containers)
c0=$(cpu_ticks); s0=$(sys_ticks); w0=$(date +%s%N)
sleep "$SECONDS_CPU"  # the measurement window
c1=$(cpu_ticks); s1=$(sys_ticks); w1=$(date +%s%N)
thread_ticks >"$E2E_TMP/threads1"
lists1=$(ops list_containers)
cpu_pct=$(awk -v c=$(( c1 - c0 )) -v hz="$hz" -v w=$(( w1 - w0 )) 'BEGIN{printf "%.2f", 100 * (c / hz) / (w / 1e9)}')
sys_pct=$(awk -v c=$(( s1 - s0 )) -v hz="$hz" -v w=$(( w1 - w0 )) 'BEGIN{printf "%.2f", 100 * (c / hz) / (w / 1e9)}')
busiest=$(join <(sort "$E2E_TMP/threads0") <(sort "$E2E_TMP/threads1") |
  awk -v hz="$hz" -v s="$SECONDS_CPU" '{d = $5 - $3; if (d > 0) printf "%s:%.2f%% ", $2, 100 * d / hz / s}')
rss_kb=$(awk '/VmRSS/{print $2}' "/proc/$NANOLET_PID/status")
failed=$(curl -sf "$API/metrics" | awk '/^prober_probe_total/ && /result="failed"/ {s += $NF} END {print s + 0}')
probes_run=$(curl -sf "$API/metrics" | awk '/^prober_probe_total/ {s += $NF} END {print s + 0}')
[[ $(ready_count) == "$PODS" ]] || log "WARNING: not every pod stayed Ready during the window"
if (( NOPROBES )); then
  rm -f "$MANIFESTS"/*.yaml
  for p in $(seq "$PODS"); do wait_for "pr$p gone" 120 pod_absent "pr$p"; done
  stop_nanolet
  printf '%-58s %s %% (system %s %%)\n' "nanolet CPU without probes ($PODS x $CONTAINERS), ${SECONDS_CPU} s" "$cpu_pct" "$sys_pct"
  printf '%-58s %s\n' "threads with CPU in the window" "$busiest"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  out=$NANOLET_SRC/bench/results.json
  [[ -s $out ]] || echo '{}' >"$out"
  jq --argjson cpu "$cpu_pct" '. + {probes_baseline: {cpu_percent_one_core: $cpu}}' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
  exit 0
fi

log "the floor: a minimal C client, the same $PROBES requests per 10 s to the same pods, ${SECONDS_CPU} s"
gcc -O2 -o "$E2E_TMP/probe_floor" "$NANOLET_SRC/bench/probe_floor.c"
mapfile -t ips < <(pods_json | jq -r '.items[].status.podIP')
floor_out=$("$E2E_TMP/probe_floor" 8080 /index.html $(( PROBES / 10 )) "$SECONDS_CPU" $(( PROBES / 100 > 0 ? PROBES / 100 : 1 )) "${ips[@]}") ||
  log "WARNING: the floor client saw failed requests: $floor_out"
floor_pct=$(sed -E 's/.*cpu ([0-9.]+)%.*/\1/' <<<"$floor_out")

log "probe failure -> container killed"
rm -f "$MANIFESTS"/pr*.yaml
cat >"$MANIFESTS/kill.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: kill}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: web
    image: $IMG
    command: ["sh", "-c", "$HTTPD"]
    livenessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: $PERIOD
      failureThreshold: 1
      terminationGracePeriodSeconds: $GRACE
YAML
wait_for "kill Running" 60 pod_phase_is kill Running
kills=()
for i in $(seq "$RUNS"); do
  wait_for "kill ready" 30 all_ready kill
  id=$(container_id kill web)
  # The clock starts once the file is surely gone (after `runc exec rm` returned: it takes ~50-100 ms, during
  # which a probe may still pass): from then on the container must be dead within one period plus the grace.
  rexec "$id" rm /www/index.html
  t_rm=$(date +%s%N)
  # Dead: runc no longer reports the container running.
  dead() { [[ $(runc --root "$RUNC_ROOT" state "$id" 2>/dev/null | jq -r .status) != running ]]; }
  until dead; do sleep 0.01; done  # poll interval of the measurement
  kills+=($(( ($(date +%s%N) - t_rm) / 1000000 )))
  replaced() { [[ $(container_id kill web) != "$id" ]]; }
  wait_for "restarted" 60 replaced
done
rm -f "$MANIFESTS"/*.yaml
for p in $(seq "$PODS"); do wait_for "pr$p gone" 120 pod_absent "pr$p"; done
wait_for "kill gone" 60 pod_absent kill
stop_nanolet

kmax=$(printf '%s\n' "${kills[@]}" | sort -n | tail -1)
kmin=$(printf '%s\n' "${kills[@]}" | sort -n | head -1)
bound=$(( (PERIOD + GRACE) * 1000 ))
printf '%-58s %s\n' "probes (httpGet, period 10 s)" "$PROBES ($PODS pods x $CONTAINERS containers x 2)"
printf '%-58s %s\n' "probes run during the test (prober_probe_total)" "$probes_run (failed: $failed)"
printf '%-58s %s %% (system %s %%)\n' "nanolet CPU, average over ${SECONDS_CPU} s (one core = 100 %)" "$cpu_pct" "$sys_pct"
printf '%-58s %s\n' "floor: minimal C client, same requests (bench/probe_floor.c)" "$floor_out"
printf '%-58s %s\n' "nanolet / floor" "$(awk -v a="$cpu_pct" -v b="$floor_pct" 'BEGIN{printf "%.2fx (nanolet above the floor: %.2f %% of a core)", a / b, a - b}')"
printf '%-58s %s\n' "pod syncs in the window (list_containers calls)" "$(( lists1 - lists0 ))"
printf '%-58s %s\n' "threads with CPU in the window" "$busiest"
printf '%-58s %s MiB\n' "nanolet RSS" "$(( rss_kb / 1024 ))"
printf '%-58s %s\n' "probe failure -> killed, ms (period ${PERIOD} s + grace ${GRACE} s = ${bound} ms)" "min $kmin max $kmax (${kills[*]})"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$NANOLET_SRC/bench/results.json
[[ -s $out ]] || echo '{}' >"$out"
jq --argjson probes "$PROBES" --argjson cpu "$cpu_pct" --argjson secs "$SECONDS_CPU" --argjson rss "$rss_kb" \
  --argjson kmin "$kmin" --argjson kmax "$kmax" --argjson bound "$bound" \
  --argjson floor "$floor_pct" \
  '. + {probes: {count: $probes, period_s: 10, cpu_percent_one_core: $cpu, floor_cpu_percent_one_core: $floor,
                 window_s: $secs, rss_kb: $rss,
                 kill_ms: {min: $kmin, max: $kmax, bound_period_plus_grace: $bound}}}' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
