#!/usr/bin/env bash
# Many pods at once: N manifests dropped into the directory together -> all N Running in /pods, beside the
# runc floor measured in the same run (N pause + container pairs started with `runc run -d`, one after the
# other, no network). Prints a table and merges {many_pods: {"N": ...}} into bench/results.json. Every pod is
# removed after each count; then every resource count must be back to its value before nanolet started, and
# nothing of the run may be left on the machine after cleanup (lib.sh VERIFY_CLEANUP), even when interrupted.
# Usage: bench/many_pods.sh BUILD_DIR [N...]   (default 100; "100 500" also runs 500 with --max-pods raised)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); shift || true
COUNTS=("$@"); [[ ${#COUNTS[@]} -gt 0 ]] || COUNTS=(100)
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
export VERIFY_CLEANUP=1
source "$NANOLET_SRC/tests/e2e/lib.sh"
ensure_image
BASELINE=$(snapshot_resources)
# The floor's runc containers (IDs of this run's own; runc names their cgroups after them) go even when the
# run is interrupted.
FLOOR=nlfloor$$
floor_cleanup() {
  local id
  for id in $(runc --root "$E2E_TMP/floor/state" list -q 2>/dev/null); do
    runc --root "$E2E_TMP/floor/state" delete -f "$id" >/dev/null 2>&1 || true
  done
}
trap 'st=$?; set +e; floor_cleanup; (exit $st); cleanup' EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

layer=$(ls -d "$ROOT"/images/layers/*/ | head -1)
floor_dir=$E2E_TMP/floor; mkdir -p "$floor_dir/pause/rootfs" "$floor_dir/app"
cp "$BUILD/nanolet-pause" "$floor_dir/pause/rootfs/pause"
mkspec() { # DIR ROOTFS ARGS_JSON
  (cd "$1" && runc spec && jq --arg r "$2" --argjson a "$3" \
    '.root.path=$r | .root.readonly=true | .process.terminal=false | .process.args=$a' config.json >c && mv c config.json)
}
mkspec "$floor_dir/pause" "$floor_dir/pause/rootfs" '["/pause"]'
mkspec "$floor_dir/app" "$layer" '["sleep","3600"]'

declare -A FLOOR NANO
max=0; for n in "${COUNTS[@]}"; do (( n > max )) && max=$n; done
# The test's /24 holds 254 pods: a bigger run takes a /16 of its own (10.250.0.0/16 is used by nothing else
# in tests/ or bench/).
if (( max > 250 )); then export NANOLET_CNI_SUBNET=10.250.0.0/16; fi
start_nanolet --max-pods $(( max + 10 ))
for n in "${COUNTS[@]}"; do
  t0=$(now_ms)
  for i in $(seq "$n"); do
    runc --root "$floor_dir/state" run -d --bundle "$floor_dir/pause" "$FLOOR-p$i" >/dev/null 2>&1 </dev/null
    runc --root "$floor_dir/state" run -d --bundle "$floor_dir/app" "$FLOOR-a$i" >/dev/null 2>&1 </dev/null
  done
  FLOOR[$n]=$(( $(now_ms) - t0 ))
  for i in $(seq "$n"); do
    runc --root "$floor_dir/state" delete -f "$FLOOR-a$i"; runc --root "$floor_dir/state" delete -f "$FLOOR-p$i"
  done
  NANO[$n]=$(python3 "$NANOLET_SRC/bench/podwatch.py" many "$API" "$MANIFESTS" "$n")
done
expect_no_leaks "$BASELINE" 60
stop_nanolet

printf '%-40s %12s %12s %7s\n' "pods dropped at once -> all Running" "runc floor" "nanolet" ratio
json='{}'
for n in "${COUNTS[@]}"; do
  ratio=$(awk -v a="${NANO[$n]}" -v b="${FLOOR[$n]}" 'BEGIN{printf "%.2f", a/b}')
  printf '%-40s %10s ms %10s ms %7s\n' "$n pods" "${FLOOR[$n]}" "${NANO[$n]}" "$ratio"
  json=$(jq --arg n "$n" --argjson f "${FLOOR[$n]}" --argjson m "${NANO[$n]}" \
    '. + {($n): {runc_floor_ms: $f, nanolet_ms: $m}}' <<<"$json")
done
echo "target: ratio <= 1.5; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$NANOLET_SRC/bench/results.json
[[ -s $out ]] || echo '{}' >"$out"
jq --argjson m "$json" '. * {many_pods: $m}' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
