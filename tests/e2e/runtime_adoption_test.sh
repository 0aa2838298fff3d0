#!/usr/bin/env bash
# Containers outlive nanolet: pods running, nanolet killed with SIGKILL, one container exits while nanolet is
# away, nanolet started again. It adopts every running container (same IDs, same runc PIDs, restartCount 0: none
# restarted, no new runc container), learns the exit code and finish time of the one that ended meanwhile, keeps
# logging through the monitors, and can still stop and remove everything it adopted without leaks.
source "$(dirname "$0")/lib.sh"
ensure_image
BASELINE=$(snapshot_resources)
start_nanolet
mkdir -p "$E2E_TMP/ctl"

cat >"$MANIFESTS/keep.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: keep}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: sleeper
    image: nanolet.local/busybox:1.35
    command: ["sleep", "3600"]
  - name: ticker
    image: nanolet.local/busybox:1.35
    command: ["sh", "-c", "i=0; while true; do i=\$((i+1)); echo tick \$i; sleep 0.2; done"]
YAML
# "short" exits with code 3 a few seconds in: as soon as the test tells it to (a file in a hostPath volume),
# which the test does while nanolet is dead. restartPolicy Never: nothing may restart it.
cat >"$MANIFESTS/short.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: short}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  volumes:
  - name: ctl
    hostPath: {path: $E2E_TMP/ctl, type: Directory}
  containers:
  - name: job
    image: nanolet.local/busybox:1.35
    command: ["sh", "-c", "until [ -f /ctl/go ]; do sleep 0.1; done; echo leaving; exit 3"]
    volumeMounts: [{name: ctl, mountPath: /ctl}]
YAML
wait_for "keep Running" 30 pod_phase_is keep Running
wait_for "short Running" 30 pod_phase_is short Running
wait_for "keep ready" 10 all_ready keep

sleeper=$(container_id keep sleeper); ticker=$(container_id keep ticker); job=$(container_id short job)
[[ -n $sleeper && -n $ticker && -n $job ]] || fail "container IDs missing"
declare -A pid_before
for id in $(runc --root "$RUNC_ROOT" list -q); do pid_before[$id]=$(container_pid "$id"); done
(( ${#pid_before[@]} == 5 )) || fail "want 5 runc containers (2 sandboxes + 3), have ${#pid_before[@]}"
keep_ip=$(pod_field keep .status.podIP)

log "kill -9 nanolet; the job exits (code 3) while nanolet is away"
kill -9 "$NANOLET_PID"; wait "$NANOLET_PID" 2>/dev/null || true; NANOLET_PID=""
job_pid=${pid_before[$job]}
touch "$E2E_TMP/ctl/go"
job_gone() { ! kill -0 "$job_pid" 2>/dev/null; }
wait_for "job process gone" 10 job_gone
wait_for "job exit file" 10 test -f "$ROOT/runtime/exits/$job.json"
t_restart=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# Monitors outlived nanolet: they keep logging.
ticks_before=$(grep -c tick "$LOGS"/default_keep-e2e-node_*/ticker/0.log)

log "start nanolet again: adopt"
start_nanolet
job_reported() { [[ $(pod_field short '.status.containerStatuses[0].state.terminated.exitCode') == 3 ]]; }
wait_for "exit code 3 of the job reported" 20 job_reported
wait_for "short Failed" 20 pod_phase_is short Failed
finished=$(pod_field short '.status.containerStatuses[0].state.terminated.finishedAt')
[[ -n $finished && $finished != null && ! $finished > $t_restart ]] \
  || fail "finishedAt $finished is not before the restart ($t_restart)"
[[ $(pod_field short '.status.containerStatuses[0].state.terminated.reason') == Error ]] || fail "job reason"
[[ $(pod_field short '.status.containerStatuses[0].restartCount') == 0 ]] || fail "job restarted"
wait_for "keep Running after adoption" 20 pod_phase_is keep Running
wait_for "keep ready after adoption" 20 all_ready keep
# A few sync rounds: nothing gets recreated behind our back.
sleep 2  # lets the sync loop run a few times (file check 1s) before the comparison; not synchronisation
[[ $(container_id keep sleeper) == "$sleeper" && $(container_id keep ticker) == "$ticker" ]] \
  || fail "keep's containers were replaced"
[[ $(container_id short job) == "$job" ]] || fail "job was replaced"
[[ $(pod_field keep '[.status.containerStatuses[].restartCount] | add') == 0 ]] || fail "keep restarted"
[[ $(pod_field keep .status.podIP) == "$keep_ip" ]] || fail "keep's IP changed"
n_after=$(runc --root "$RUNC_ROOT" list -q | wc -l)
(( n_after == 5 )) || fail "runc has $n_after containers after adoption, want 5 (nothing new)"
# Every runc container keeps its PID, except the job (exited) and short's sandbox (stopped by the kubelet, as
# upstream does once every container of a restartPolicy: Never pod has terminated).
for id in "${!pid_before[@]}"; do
  now=$(container_pid "$id")
  [[ $now == "${pid_before[$id]}" ]] && continue
  if [[ $now == 0 && ( $id == "$job" || -d $ROOT/runtime/sandboxes/$id ) ]]; then continue; fi
  fail "container $id: PID ${pid_before[$id]} before, $now after ($(runc --root "$RUNC_ROOT" list))"
done
running=$(runc --root "$RUNC_ROOT" list -f json | jq '[.[] | select(.status=="running")] | length')
(( running == 3 )) || fail "$running runc containers running after adoption, want 3 (keep's sandbox and containers)"
more_ticks() { (( $(grep -c tick "$LOGS"/default_keep-e2e-node_*/ticker/0.log) > ticks_before )); }
wait_for "ticker keeps logging" 5 more_ticks
grep -q "leaving" "$LOGS"/default_short-e2e-node_*/job/0.log || fail "the job's last output is not in its log"

log "adopted pods stop and leave nothing behind"
rm -f "$MANIFESTS"/*.yaml
wait_for "keep gone" 30 pod_absent keep
wait_for "short gone" 30 pod_absent short
expect_no_leaks "$BASELINE"
stop_nanolet
log "PASS"
