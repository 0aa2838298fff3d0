#!/usr/bin/env bash
# Pod startup latency: manifest written -> Running in /pods (one container, image present), beside the
# floor measured in the same run: bare `runc run -d` of a pause container and the same busybox container,
# one after the other; and container exit -> status updated in /pods. Prints a table (p50/p99 over RUNS) and
# merges its figures into bench/results.json.
# Usage: bench/startup.sh BUILD_DIR [RUNS]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); RUNS=${2:-20}
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
source "$NANOLET_SRC/tests/e2e/lib.sh"
ensure_image
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR-1)*p/100)+1; print a[i]}'; }

# Floor: runc alone, same rootfs (the unpacked image layer, read-only) and a pause bundle.
layer=$(ls -d "$ROOT"/images/layers/*/ | head -1)
floor_dir=$E2E_TMP/floor; mkdir -p "$floor_dir/pause/rootfs" "$floor_dir/app"
cp "$BUILD/nanolet-pause" "$floor_dir/pause/rootfs/pause"
mkspec() { # DIR ROOTFS ARGS_JSON
  (cd "$1" && runc spec && jq --arg r "$2" --argjson a "$3" \
    '.root.path=$r | .root.readonly=true | .process.terminal=false | .process.args=$a' config.json >c && mv c config.json)
}
mkspec "$floor_dir/pause" "$floor_dir/pause/rootfs" '["/pause"]'
mkspec "$floor_dir/app" "$layer" '["sleep","3600"]'
floor_once() { # I: prints milliseconds
  local t0; t0=$(now_ms)
  runc --root "$floor_dir/state" run -d --bundle "$floor_dir/pause" "p$1" >/dev/null 2>&1 </dev/null
  runc --root "$floor_dir/state" run -d --bundle "$floor_dir/app" "a$1" >/dev/null 2>&1 </dev/null
  echo $(( $(now_ms) - t0 ))
  runc --root "$floor_dir/state" delete -f "a$1"; runc --root "$floor_dir/state" delete -f "p$1"
}
floor_once w >/dev/null

start_nanolet
# Interleaved, one floor run and one nanolet run per iteration, so that load from elsewhere weighs on both
# alike. Manifest written -> Running in /pods is timed by one poller process (bench/podwatch.py: no curl/jq
# spawned per poll); then container exit -> /pods shows it terminated.
floor=(); lat=()
python3 "$NANOLET_SRC/bench/podwatch.py" startup "$API" "$MANIFESTS" 1 1000 >/dev/null  # warm-up
for i in $(seq "$RUNS"); do
  floor+=("$(floor_once "$i")")
  lat+=("$(python3 "$NANOLET_SRC/bench/podwatch.py" startup "$API" "$MANIFESTS" 1 "$i")")
done
mapfile -t exitlat < <(python3 "$NANOLET_SRC/bench/podwatch.py" exit "$API" "$MANIFESTS" "$ROOT/runtime/exits" "$RUNS")
stop_nanolet
f50=$(printf '%s\n' "${floor[@]}" | pct 50); f99=$(printf '%s\n' "${floor[@]}" | pct 99)
n50=$(printf '%s\n' "${lat[@]}" | pct 50); n99=$(printf '%s\n' "${lat[@]}" | pct 99)
e50=$(printf '%s\n' "${exitlat[@]}" | pct 50); e99=$(printf '%s\n' "${exitlat[@]}" | pct 99)
printf '%-48s %8s %8s\n' "startup (ms, $RUNS runs)" p50 p99
printf '%-48s %8s %8s\n' "runc floor (pause + container, sequential)" "$f50" "$f99"
printf '%-48s %8s %8s\n' "nanolet (manifest -> Running in /pods)" "$n50" "$n99"
printf '%-48s %8s %8s\n' "container exit -> terminated in /pods" "$e50" "$e99"
echo "ratio p50: $(awk -v a="$n50" -v b="$f50" 'BEGIN{printf "%.2f", a/b}')  (target <= 1.5); exit -> status p99 target < 100 ms"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$NANOLET_SRC/bench/results.json
[[ -s $out ]] || echo '{}' >"$out"
jq --argjson f50 "$f50" --argjson f99 "$f99" --argjson n50 "$n50" --argjson n99 "$n99" --argjson runs "$RUNS" \
  --argjson e50 "$e50" --argjson e99 "$e99" --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
  '. * {startup: {runs: $runs, runc_floor_ms: {p50: $f50, p99: $f99}, nanolet_ms: {p50: $n50, p99: $n99},
                  exit_to_status_ms: {p50: $e50, p99: $e99}, loadavg: $load}}' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
