#!/usr/bin/env bash
# Nothing leaks: CYCLES pod create/remove cycles (manifest written, Running, manifest removed, pod gone), then
# every resource count (network namespaces, veths, IPAM allocations, mounts, cgroups, runc containers, monitors,
# files under ROOT) equals the snapshot taken before. To stay inside the e2e time budget, each round runs
# PARALLEL pods at once (CYCLES/PARALLEL rounds). bench/leak.sh runs the long version.
#   CYCLES=50 PARALLEL=5 (defaults)
source "$(dirname "$0")/lib.sh"
CYCLES=${CYCLES:-50}
PARALLEL=${PARALLEL:-5}
ensure_image
start_nanolet
files_under_root() { find "$ROOT" -mindepth 1 -not -path "$ROOT/images/*" | sort; }

manifest() { # NAME
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: app, image: nanolet.local/busybox:1.35, command: ["sleep", "3600"]}
  - {name: side, image: nanolet.local/busybox:1.35, command: ["sh", "-c", "echo up; exec sleep 3600"]}
YAML
}
all_running() { # NAMES...: every pod Running with all containers ready, in one /pods read
  local want=$#
  local n
  n=$(pods_json | jq --argjson names "$(printf '%s\n' "$@" | jq -R "\"\(.)-e2e-node\"" | jq -s .)" \
    '[.items[] | select(.metadata.name as $n | $names | index($n)) | select(.status.phase=="Running")
      | select([.status.containerStatuses[]?.ready] | (length == 2 and all))] | length')
  [[ $n == "$want" ]]
}
none_left() { [[ $(pods_json | jq '.items | length') == 0 ]]; }

# Warm-up: the first pod makes what stays for nanolet's lifetime (the bridge, host-local's network directory
# and its last_reserved_ip). The baseline is taken after it, with nanolet running and idle.
manifest warmup >"$MANIFESTS/warmup.yaml"
wait_for "warmup Running" 30 all_running warmup
rm "$MANIFESTS/warmup.yaml"
wait_for "warmup gone" 30 none_left
BASELINE=$(snapshot_resources)
FILES_BASELINE=$(files_under_root)

t0=$(date +%s%N)
rounds=$(( (CYCLES + PARALLEL - 1) / PARALLEL ))
done_cycles=0
for r in $(seq "$rounds"); do
  names=()
  for k in $(seq "$PARALLEL"); do
    (( done_cycles < CYCLES )) || break
    names+=("leak-$r-$k"); done_cycles=$((done_cycles + 1))
    manifest "leak-$r-$k" >"$MANIFESTS/leak-$r-$k.yaml"
  done
  wait_for "round $r Running" 30 all_running "${names[@]}"
  for n in "${names[@]}"; do rm "$MANIFESTS/$n.yaml"; done
  wait_for "round $r gone" 30 none_left
done
log "$CYCLES create/remove cycles ($PARALLEL in parallel) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

no_leaks() { [[ $(snapshot_resources) == "$BASELINE" && $(files_under_root) == "$FILES_BASELINE" ]]; }
wait_for "resources back to baseline" 20 no_leaks || true
if ! no_leaks; then
  diff <(echo "$BASELINE") <(snapshot_resources) >&2 || true
  diff <(echo "$FILES_BASELINE") <(files_under_root) >&2 || true
  fail "resources leaked after $CYCLES cycles"
fi
kill -0 "$NANOLET_PID" || fail "nanolet died"
stop_nanolet
log "PASS"
