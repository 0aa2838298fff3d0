#!/usr/bin/env bash
# Fault injection, one fault at a time on one nanolet, each followed by its recovery:
#   runc   a wrapper (--container-runtime-binary) failing 40% and hanging 10% of create/start/run/delete
#          calls (a hang lasts until the fault clears, then the call fails);
#   cni    a chained plugin after bridge that fails every ADD (--cni-conf-dir, --cni-bin-dir);
#   disk   --root-dir on a small tmpfs (size=) filled up by a file.
# For each: new pods are created under the fault; at least one must report the cause in its status
# (the injected error text, or "no space", anywhere in .status; the table also says whether nanolet's log
# named it); after the fault clears every pod must be Running within 330 s (retry with backoff, capped at
# 5 min as upstream's). At the end all pods are deleted and the resources
# (snapshot_resources: netns, veths, IPAM, mounts, cgroups, runc, monitors, records) must be back to
# the start. Prints a table; merges {faults: {...}} into bench/results.json; exit 1 on a failure.
# Usage: bench/faults.sh BUILD_DIR [PODS_PER_FAULT (default 4)]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); N=${2:-4}
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
source "$NANOLET_SRC/tests/e2e/lib.sh"
no_pods() { [[ $(pods_json | jq '.items | length') == 0 ]]; }
FAULTS=$E2E_TMP/faults; mkdir -p "$FAULTS/bin" "$FAULTS/conf"
# The root on a small tmpfs (the image needs a few MiB), filled later by $ROOT/filler.
mount -t tmpfs -o size=48m nanolet-faults "$ROOT"
ensure_image
REAL_RUNC=$(command -v runc)

# The flaky runc. Mode file: ok | flaky.
echo ok >"$FAULTS/runc.mode"
cat >"$FAULTS/runc-flaky" <<SH
#!/usr/bin/env bash
# Fault-injecting runc: in mode "flaky" fails or hangs create/start/run/delete at random.
mode=\$(cat "$FAULTS/runc.mode" 2>/dev/null || echo ok)
sub=""; skip=0
for a in "\$@"; do
  if (( skip )); then skip=0; continue; fi
  case \$a in --root|--log|--log-format|--criu) skip=1 ;; -*) ;; *) sub=\$a; break ;; esac
done
if [[ \$mode == flaky ]]; then
  case \$sub in create|start|run|delete)
    r=\$(( RANDOM % 10 ))
    if (( r < 4 )); then echo "injected runc fault: \$sub failed" >&2; exit 1; fi
    if (( r == 4 )); then
      echo "\$sub" >>"$FAULTS/runc.hangs"
      while [[ \$(cat "$FAULTS/runc.mode") != ok ]]; do sleep 0.2; done
      echo "injected runc fault: \$sub hung" >&2; exit 1
    fi ;;
  esac
fi
exec "$REAL_RUNC" "\$@"
SH
chmod +x "$FAULTS/runc-flaky"

# The failing CNI plugin, chained after bridge: passes prevResult through unless the mode file says fail.
echo ok >"$FAULTS/cni.mode"
for p in /usr/lib/cni/*; do ln -s "$p" "$FAULTS/bin/"; done
cat >"$FAULTS/bin/flaky" <<SH
#!/usr/bin/env bash
conf=\$(cat)
case \$CNI_COMMAND in
  ADD)
    if [[ \$(cat "$FAULTS/cni.mode") == fail ]]; then
      echo '{"cniVersion":"1.0.0","code":11,"msg":"injected CNI fault","details":"flaky plugin"}'; exit 1
    fi
    jq -c '.prevResult' <<<"\$conf" ;;
  VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}' ;;
  *) ;;
esac
SH
chmod +x "$FAULTS/bin/flaky"
jq -n --arg br "$NANOLET_CNI_BRIDGE" --arg sn "$NANOLET_CNI_SUBNET" --arg dd "$ROOT/cni/networks" '{
  cniVersion: "1.0.0", name: "faults",
  plugins: [{type: "bridge", bridge: $br, isGateway: true, ipMasq: false, hairpinMode: true,
             ipam: {type: "host-local", ranges: [[{subnet: $sn}]], routes: [{dst: "0.0.0.0/0"}], dataDir: $dd}},
            {type: "flaky"}]}' >"$FAULTS/conf/10-faults.conflist"

BASELINE=$(snapshot_resources)
start_nanolet --container-runtime-binary "$FAULTS/runc-flaky" --cni-conf-dir "$FAULTS/conf" \
  --cni-bin-dir "$FAULTS/bin"

make_pods() {  # PREFIX
  for i in $(seq "$N"); do
    cat >"$MANIFESTS/$1$i.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1$i}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: app, image: nanolet.local/busybox:1.35, command: ["sleep", "36000"]}
YAML
  done
}
# The pods PREFIX* whose status mentions PATTERN (case-insensitive).
cause_seen() { pods_json | jq -e --arg p "$1" --arg re "$2" \
  '[.items[] | select(.metadata.name | startswith($p)) | select(.status | tostring | test($re; "i"))] | length > 0'; }
all_running() { pods_json | jq -e '(.items | length) as $n | [.items[] | select(.status.phase == "Running" and
  ([.status.containerStatuses[]? | .state.running != null] | all))] | length == $n'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

declare -A RES; status=0
fault() {  # NAME PREFIX PATTERN ON OFF: inject, create pods, wait for the cause, clear, wait Running
  local name=$1 prefix=$2 re=$3 on=$4 off=$5 t0 seen=no msg
  eval "$on"
  make_pods "$prefix"
  t0=$(now_ms)
  while (( $(now_ms) - t0 < 30000 )); do
    if cause_seen "$prefix" "$re" >/dev/null 2>&1; then seen=yes; break; fi
    sleep 0.2
  done
  msg=$(pods_json | jq -r --arg p "$prefix" --arg re "$re" '[.items[] | select(.metadata.name | startswith($p))
    | .status | .. | strings | select(test($re; "i"))][0] // "(none)"' | cut -c1-110)
  [[ $seen == yes ]] || status=1
  local in_log=no
  grep -iE "$re" "$E2E_TMP/nanolet.log" | grep -q "pod=\"default/$prefix" && in_log=yes
  eval "$off"
  t0=$(now_ms); local rec="timeout"
  while (( $(now_ms) - t0 < 330000 )); do
    if all_running >/dev/null 2>&1; then rec=$(( $(now_ms) - t0 )); break; fi
    sleep 0.2
  done
  [[ $rec != timeout ]] || { status=1; pods_json | jq -c '.items[] | select(.status.phase != "Running" or
    ([.status.containerStatuses[]? | .state.running != null] | all | not)) | {n: .metadata.name, s: .status}' >&2; }
  printf '%-6s %-6s %-6s %-12s %s\n' "$name" "$seen" "$in_log" "$rec" "$msg"
  RES[$name]=$(jq -n --arg seen "$seen" --arg l "$in_log" --arg rec "$rec" --arg msg "$msg" \
    '{cause_in_status: ($seen=="yes"), cause_in_log: ($l=="yes"), recovery_ms: ($rec | tonumber? // null), message: $msg}')
}

printf '%-6s %-6s %-6s %-12s %s\n' fault status log "recover_ms" "cause: the message in the pod status"
fault runc r "injected runc fault" 'echo flaky >"$FAULTS/runc.mode"' 'echo ok >"$FAULTS/runc.mode"'
fault cni c "injected CNI fault" 'echo fail >"$FAULTS/cni.mode"' 'echo ok >"$FAULTS/cni.mode"'
fault disk d "no space" 'dd if=/dev/zero of="$ROOT/filler" bs=1M 2>/dev/null || true' 'rm -f "$ROOT/filler"'
echo "runc calls that hung: $(cat "$FAULTS/runc.hangs" 2>/dev/null | wc -l)"

rm -f "$MANIFESTS"/*.yaml
wait_for "all pods gone" 120 no_pods
sleep 1  # the last teardown's IPAM release and cgroup removal follow the pod's disappearance from /pods
AFTER=$(snapshot_resources)
leak=none
if [[ $AFTER != "$BASELINE" ]]; then
  leak=$(diff <(echo "$BASELINE") <(echo "$AFTER") | grep '^>' | tr '\n' ' '); status=1
fi
echo "leaks after recovery and deletion: $leak"
stop_nanolet

out=$NANOLET_SRC/bench/results.json
[[ -s $out ]] || echo '{}' >"$out"
jq --argjson r "${RES[runc]}" --argjson c "${RES[cni]}" --argjson d "${RES[disk]}" --arg leak "$leak" \
  '. * {faults: {runc: $r, cni: $c, disk: $d, leaks: $leak}}' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
exit $status
