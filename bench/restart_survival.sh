#!/usr/bin/env bash
# Restart survival: nanolet is killed with SIGKILL at random moments while pods are being created and
# deleted (a churn loop writes and removes manifests meanwhile, names never reused), stays dead a random
# while (containers of short-lived pods exit then), and is restarted. After each restart it must converge
# (deadline 60 s):
#   - no lost and no extra pod: /pods holds exactly the pods of the manifests present;
#   - no duplicated container: every running runc container belongs to a pod in /pods, at most one
#     sandbox per pod and one container per (pod, container name);
#   - no container restarted that did not exit: long-running pods keep restartCount 0, and a container
#     seen running before the kill keeps its container ID;
#   - exit codes of containers that ended meanwhile are reported (restartPolicy Never pods whose command
#     exits with a known code: phase Succeeded/Failed, state.terminated.exitCode as expected), and a
#     container seen (running or terminated) before the kill keeps its ID: nothing ran twice;
#   - one container status per pod, restartCount 0 everywhere (no pod here ever restarts a container).
# At the end every pod is removed and every resource count (netns files, veths, IPAM files, mounts, cgroups,
# runc containers, monitors, state directories) must be back to the count before the first nanolet started,
# and after the script's cleanup nothing of the test may be left on the machine (lib.sh VERIFY_CLEANUP).
# Prints one line per kill, "N of KILLS converged", and how often nanolet's recovery paths ran; merges
# {restart_survival: {kills, converged}} into bench/results.json. Exit status 1 when a kill did not converge
# or something leaked.
# Usage: bench/restart_survival.sh BUILD_DIR [KILLS (default 20)]
#   MAX_DEAD_MS (default 2500): nanolet stays dead 0..MAX_DEAD_MS; 0 restarts it at once, while what the killed
#   one started (runc, CNI plugins) is still running.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); KILLS=${2:-20}
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
export VERIFY_CLEANUP=1
source "$NANOLET_SRC/tests/e2e/lib.sh"
no_pods() { [[ $(pods_json | jq '.items | length') == 0 ]]; }
ensure_image
BASELINE=$(snapshot_resources)
CHURN_PID=""
stop_churn() { if [[ -n $CHURN_PID ]]; then kill "$CHURN_PID" 2>/dev/null || true; wait "$CHURN_PID" 2>/dev/null || true; CHURN_PID=""; fi; }
trap 'st=$?; set +e; stop_churn; (exit $st); cleanup' EXIT

long_pod() {  # NAME
  cat >"$MANIFESTS/.$1.tmp" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: app, image: nanolet.local/busybox:1.35, command: ["sleep", "36000"]}
YAML
  mv "$MANIFESTS/.$1.tmp" "$MANIFESTS/$1.yaml"
}
exit_pod() {  # NAME SECONDS CODE: restartPolicy Never, exits with CODE after SECONDS
  cat >"$MANIFESTS/.$1.tmp" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
  - {name: app, image: nanolet.local/busybox:1.35, command: ["sh", "-c", "sleep $2; exit $3"]}
YAML
  mv "$MANIFESTS/.$1.tmp" "$MANIFESTS/$1.yaml"
}

# The churn: every 50-390 ms one of: add a long-running pod (up to 12), delete one, add a pod that exits
# after 0.5-3 s with code 0-4, delete a finished one (up to 8 kept).
churn() {  # ROUND
  local step=0 f
  while :; do
    step=$(( step + 1 ))
    local longs=("$MANIFESTS"/l*.yaml) exits=("$MANIFESTS"/x*.yaml) nl=0 nx=0
    [[ -e ${longs[0]} ]] && nl=${#longs[@]}; [[ -e ${exits[0]} ]] && nx=${#exits[@]}
    case $(( RANDOM % 4 )) in
      0) (( nl < 12 )) && long_pod "l$1-$step" ;;
      1) (( nl > 0 )) && rm -f "${longs[RANDOM % nl]}" ;;
      2) f=$(( RANDOM % 5 )); (( nx < 8 )) && exit_pod "x$1-$step-c$f" "$(( RANDOM % 3 )).$(( RANDOM % 10 ))" "$f" ;;
      3) (( nx > 4 )) && rm -f "${exits[RANDOM % nx]}" ;;
    esac
    sleep "$(printf '0.%02d' $(( 5 + RANDOM % 35 )))"
  done
}

# The state check; prints the first problem and returns 1, or returns 0 when converged.
BEFORE=$E2E_TMP/before.json
check() {
  local pods want have
  pods=$(pods_json) || { echo "no /pods"; return 1; }
  want=$(ls "$MANIFESTS" | sed -n 's/\.yaml$/-e2e-node/p' | sort)
  have=$(jq -r '.items[].metadata.name' <<<"$pods" | sort)
  if [[ $want != "$have" ]]; then
    echo "pods differ from manifests: missing [$(comm -23 <(echo "$want") <(echo "$have") | tr '\n' ' ')]" \
         "extra [$(comm -13 <(echo "$want") <(echo "$have") | tr '\n' ' ')]"
    return 1
  fi
  local bad
  # Every pod: one container status, restartCount 0, and the container seen before the kill (running or
  # terminated) is still the one reported: nothing was run twice.
  bad=$(jq -r --slurpfile before "$BEFORE" '
    ($before[0].items // [] | map({key: .metadata.name,
       value: ([.status.containerStatuses[]? | select(.state.running or .state.terminated) | .containerID][0])})
     | from_entries) as $b
    | .items[] | . as $p | (.status.containerStatuses // []) as $cs
    | if ($cs | length) > 1 then "\(.metadata.name) has \($cs | length) container statuses"
      elif ($cs[0].restartCount // 0) != 0 then "\(.metadata.name) restarted (restartCount \($cs[0].restartCount))"
      elif ($b[$p.metadata.name] // null) != null and $b[$p.metadata.name] != $cs[0].containerID
        then "\(.metadata.name) container replaced: \($b[$p.metadata.name]) -> \($cs[0].containerID)"
      else empty end' <<<"$pods" | head -1)
  [[ -z $bad ]] || { echo "$bad"; return 1; }
  # Long-running pods: Running, restartCount 0, and the same container as before the kill.
  bad=$(jq -r --slurpfile before "$BEFORE" '
    ($before[0].items // [] | map({key: .metadata.name,
       value: ([.status.containerStatuses[]? | select(.state.running) | .containerID][0])}) | from_entries) as $b
    | .items[] | select(.metadata.name | startswith("l")) | . as $p
    | (.status.containerStatuses // [])[0] as $c
    | if .status.phase != "Running" or ($c.state.running == null) then "\(.metadata.name) not running (\(.status.phase))"
      elif $c.restartCount != 0 then "\(.metadata.name) restarted (restartCount \($c.restartCount))"
      elif ($b[$p.metadata.name] // null) != null and $b[$p.metadata.name] != $c.containerID
        then "\(.metadata.name) container replaced: \($b[$p.metadata.name]) -> \($c.containerID)"
      else empty end' <<<"$pods" | head -1)
  [[ -z $bad ]] || { echo "$bad"; return 1; }
  # Exit pods: once the command has ended, the exit code from the name.
  bad=$(jq -r '.items[] | select(.metadata.name | startswith("x"))
    | (.metadata.name | capture("-c(?<c>[0-9])-e2e-node$").c | tonumber) as $want
    | (.status.containerStatuses // [])[0] as $c
    | if $c.state.terminated then
        (if $c.state.terminated.exitCode != $want then "\(.metadata.name) exitCode \($c.state.terminated.exitCode), want \($want)"
         elif $c.restartCount != 0 then "\(.metadata.name) restarted under restartPolicy Never"
         elif .status.phase != (if $want == 0 then "Succeeded" else "Failed" end) then "\(.metadata.name) phase \(.status.phase)"
         else empty end)
      elif .status.phase == "Succeeded" or .status.phase == "Failed" then "\(.metadata.name) \(.status.phase) without a terminated state"
      else "\(.metadata.name) still \(.status.phase) (waiting for its exit)" end' <<<"$pods" | head -1)
  [[ -z $bad ]] || { echo "$bad"; return 1; }
  # runc: every live container is a known sandbox or container of a pod in /pods, no duplicates.
  local uids id meta key
  uids=$(jq -r '.items[].metadata.uid' <<<"$pods" | sort -u)
  declare -A seen=()
  local uid
  for id in $(runc --root "$RUNC_ROOT" list -f json 2>/dev/null | jq -r '.[]? | select(.status=="running" or .status=="created") | .id'); do
    # A record read while nanolet removes it: gone from runc too by then, or an orphan.
    if key=$(jq -r '"sandbox " + .podUID' "$ROOT/runtime/sandboxes/$id/meta.json" 2>/dev/null); then :
    elif key=$(jq -r '"container " + .podUID + " " + .name' "$ROOT/runtime/containers/$id/meta.json" 2>/dev/null); then :
    elif ! runc --root "$RUNC_ROOT" state "$id" >/dev/null 2>&1; then continue
    else
      echo "runc container $id ($(runc --root "$RUNC_ROOT" state "$id" | jq -r .status)) has no record (orphan)"; return 1
    fi
    uid=$(cut -d' ' -f2 <<<"$key")
    grep -qxF "$uid" <<<"$uids" || { echo "runc $id ($key) belongs to no pod in /pods"; return 1; }
    [[ -z ${seen[$key]:-} ]] || { echo "duplicated: $key in runc $id and ${seen[$key]}"; return 1; }
    seen[$key]=$id
  done
  return 0
}

start_nanolet
converged=0; failures=()
printf '%-5s %-9s %-9s %-6s %-10s %s\n' kill "alive_ms" "dead_ms" pods "conv_ms" result
for k in $(seq "$KILLS"); do
  churn "$k" & CHURN_PID=$!
  alive=$(( 500 + RANDOM % 3500 ))
  sleep "$(awk -v m=$alive 'BEGIN{printf "%.3f", m/1000}')"
  pods_json >"$BEFORE" 2>/dev/null || echo '{}' >"$BEFORE"
  kill -KILL "$NANOLET_PID"; wait "$NANOLET_PID" 2>/dev/null || true; NANOLET_PID=""
  dead=$(( RANDOM % (${MAX_DEAD_MS:-2500} + 1) ))
  sleep "$(awk -v m=$dead 'BEGIN{printf "%.3f", m/1000}')"
  stop_churn
  t0=$(date +%s%N)
  start_nanolet
  deadline=$(( t0 + 60000000000 )); why=""
  until why=$(check); do
    if (( $(date +%s%N) > deadline )); then break; fi
    sleep 0.2
  done
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  npods=$(ls "$MANIFESTS" | grep -c '\.yaml$' || true)
  if [[ -z $why ]]; then
    converged=$(( converged + 1 )); res=ok
  else
    res="FAILED: $why"; failures+=("kill $k: $why")
    log "kill $k did not converge: $why"
    # The runtime's records of the pod named first in the message, and what nanolet logged about it.
    bad_pod=${why%% *}
    uid=$(pod_field "${bad_pod%-e2e-node}" .metadata.uid 2>/dev/null || true)
    if [[ -n $uid ]]; then
      grep -l "\"$uid\"" "$ROOT"/runtime/containers/*/meta.json 2>/dev/null | xargs -r jq -c \
        '{id: .id[0:12], name, attempt, state, exitCode, reason, startedAt, finishedAt}' >&2 || true
      grep -F "$bad_pod" "$E2E_TMP/nanolet.log" | tail -20 >&2 || true
      # Delete the pod, so that its defect does not count again at the next kills.
      rm -f "$MANIFESTS/${bad_pod%-e2e-node}.yaml"
    fi
  fi
  printf '%-5s %-9s %-9s %-6s %-10s %s\n' "$k" "$alive" "$dead" "$npods" "$ms" "$res"
done
stop_churn
echo "restart survival: $converged of $KILLS converged"
for f in "${failures[@]}"; do echo "  $f"; done
# How often each recovery path of the runtime ran (nanolet's log over all restarts).
for what in "waiting for operations of the previous nanolet" "adopting container started after the last save" \
            "removing container that never started" "stopping pod sandbox that is not ready after a restart"; do
  printf '  %-60s %s\n' "$what" "$(grep -c "$what" "$E2E_TMP/nanolet.log" || true)"
done
rm -f "$MANIFESTS"/*.yaml
wait_for "all pods gone" 120 no_pods

out=$NANOLET_SRC/bench/results.json
[[ -s $out ]] || echo '{}' >"$out"
jq --argjson k "$KILLS" --argjson c "$converged" '. * {restart_survival: {kills: $k, converged: $c}}' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
expect_no_leaks "$BASELINE" 30
log "no leak: every resource count back to its value before the first start"
(( converged == KILLS ))
