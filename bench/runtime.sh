#!/usr/bin/env bash
# Runtime path: a pod sandbox (pause) plus one busybox container created and started through OciRuntime
# (`nanolet debug runtime-bench`: namespaces, CNI ADD, overlay rootfs, monitors, runc; no kubelet), beside the
# floor measured in the same run: bare `runc run -d` of a pause bundle and the same busybox bundle, one after the
# other. Also the RSS/PSS of the monitors (one per container). Prints a table and merges {"runtime": ...} into
# bench/results.json.
# Usage: bench/runtime.sh BUILD_DIR [RUNS]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); RUNS=${2:-20}
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
source "$NANOLET_SRC/tests/e2e/lib.sh"
ensure_image
now_us() { echo $(( $(date +%s%N) / 1000 )); }
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
floor_once() { # I: prints microseconds
  local t0; t0=$(now_us)
  runc --root "$floor_dir/state" run -d --bundle "$floor_dir/pause" "p$1" >/dev/null 2>&1 </dev/null
  runc --root "$floor_dir/state" run -d --bundle "$floor_dir/app" "a$1" >/dev/null 2>&1 </dev/null
  echo $(( $(now_us) - t0 ))
  runc --root "$floor_dir/state" delete -f "a$1" 2>/dev/null; runc --root "$floor_dir/state" delete -f "p$1" 2>/dev/null
}
rtbench() { "$BUILD/nanolet" debug runtime-bench --root-dir "$ROOT" --pod-logs-dir "$LOGS" "$@"; }
floor_once w1 >/dev/null; floor_once w2 >/dev/null
rtbench --runs 0 --warmup 2
# Interleaved, one of each per iteration, so that load from elsewhere weighs on both alike.
floor=()
: >"$E2E_TMP/rt.jsonl"
for i in $(seq "$RUNS"); do
  floor+=("$(floor_once "$i")")
  rtbench --runs 1 --warmup 0 >>"$E2E_TMP/rt.jsonl"
done
field() { jq -r ".$1" "$E2E_TMP/rt.jsonl"; }
ms() { awk '{printf "%.1f", $1/1000}' <<<"$1"; }
f50=$(printf '%s\n' "${floor[@]}" | pct 50); f99=$(printf '%s\n' "${floor[@]}" | pct 99)
us() { field "$1" | awk '{printf "%d\n", $1*1000}'; }
n50=$(us total_ms | pct 50); n99=$(us total_ms | pct 99)
printf '%-52s %8s %8s\n' "runtime path (ms, $RUNS runs)" p50 p99
printf '%-52s %8s %8s\n' "runc floor: run -d pause, run -d busybox" "$(ms "$f50")" "$(ms "$f99")"
printf '%-52s %8s %8s\n' "OciRuntime: sandbox + container created and started" "$(ms "$n50")" "$(ms "$n99")"
for k in sandbox_ms create_ms start_ms remove_ms; do
  printf '%-52s %8s %8s\n' "  $k" "$(ms "$(us "$k" | pct 50)")" "$(ms "$(us "$k" | pct 99)")"
done
ratio=$(awk -v a="$n50" -v b="$f50" 'BEGIN{printf "%.2f", a/b}')
echo "ratio p50: $ratio (target <= 1.30)"
rss=$(jq -s '[.[].monitor_rss_kb[]] | add / length | floor' "$E2E_TMP/rt.jsonl")
rss_max=$(jq -s '[.[].monitor_rss_kb[]] | max' "$E2E_TMP/rt.jsonl")
pss=$(jq -s '[.[].monitor_pss_kb[]] | add / length | floor' "$E2E_TMP/rt.jsonl")
echo "monitor per container: RSS mean ${rss} kB (max ${rss_max} kB), PSS mean ${pss} kB (goal <= 1024 kB)"

results=$NANOLET_SRC/bench/results.json
[[ -s $results ]] || echo '{}' >"$results"
jq --argjson f50 "$(ms "$f50")" --argjson f99 "$(ms "$f99")" --argjson n50 "$(ms "$n50")" \
  --argjson n99 "$(ms "$n99")" --argjson runs "$RUNS" --argjson rss "$rss" --argjson pss "$pss" \
  --argjson ratio "$ratio" \
  '. + {runtime: {runs: $runs, runc_floor_ms: {p50: $f50, p99: $f99}, oci_runtime_ms: {p50: $n50, p99: $n99},
        ratio_p50: $ratio, monitor_rss_kb: $rss, monitor_pss_kb: $pss}}' "$results" >"$results.tmp"
mv "$results.tmp" "$results"
