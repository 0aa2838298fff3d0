#!/usr/bin/env bash
# End to end on real runc and CNI: an httpGet liveness probe restarts a busybox httpd once its file is gone
# (404); an httpGet readiness probe flips the container's ready and the pod's Ready/ContainersReady both
# ways; an exec probe that overruns its timeout fails and leaves no process behind; tcpSocket probes to an
# open and a closed port; a grpc readiness probe against a grpc.health.v1 server (python3-grpcio,
# tests/fixtures/grpc_health/server.py) run in the pod's network namespace, reached through the bridge. Probe
# periods are 1 s.
source "$(dirname "$0")/lib.sh"
# The grpc health server this test starts in the pod's network namespace, stopped by its PID.
GRPC_PID=""
stop_grpc() { if [[ -n $GRPC_PID ]]; then kill -KILL "$GRPC_PID" 2>/dev/null || true; wait "$GRPC_PID" 2>/dev/null || true; GRPC_PID=""; fi; }
# (set +e: under errexit `(exit $rc)` with rc != 0 would end the trap before cleanup ran.)
trap 'rc=$?; stop_grpc; set +e; (exit $rc); cleanup' EXIT
ensure_image
BASELINE=$(snapshot_resources)
start_nanolet
T0=$(date +%s)

IMG=nanolet.local/busybox:1.35
HTTPD='mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'
cat >"$MANIFESTS/live.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  # httpd as PID 1 ignores SIGTERM: the kill waits out the grace. The probe's 1 s overrides the pod's 5 s.
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: $IMG
    command: ["sh", "-c", "$HTTPD"]
    ports: [{name: http, containerPort: 8080}]
    livenessProbe:
      httpGet: {path: /index.html, port: http}
      periodSeconds: 1
      failureThreshold: 1
      terminationGracePeriodSeconds: 1
YAML
cat >"$MANIFESTS/ready.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: $IMG
    command: ["sh", "-c", "$HTTPD"]
    readinessProbe:
      httpGet: {path: /ready.html, port: 8080, httpHeaders: [{name: X-Probe, value: e2e}]}
      periodSeconds: 1
      failureThreshold: 1
YAML
cat >"$MANIFESTS/execp.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: execp}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: slow
    image: $IMG
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["sleep", "4711"]}
      periodSeconds: 1
      timeoutSeconds: 1
      failureThreshold: 1
YAML
cat >"$MANIFESTS/tcp.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: tcp}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: up
    image: $IMG
    command: ["httpd", "-f", "-p", "8080"]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
  - name: down
    image: $IMG
    command: ["sleep", "3600"]
    readinessProbe: {tcpSocket: {port: 9090}, periodSeconds: 1, failureThreshold: 1}
YAML
cat >"$MANIFESTS/grpc.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: grpc}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: $IMG
    command: ["sleep", "3600"]
    readinessProbe:
      grpc: {port: 9555}
      periodSeconds: 1
      timeoutSeconds: 1
      failureThreshold: 1
YAML
for p in live ready execp tcp grpc; do wait_for "$p Running" 30 pod_phase_is $p Running; done

cond() { pod_field "$1" ".status.conditions[]? | select(.type==\"$2\") | .status"; }
cready() { pod_field "$1" ".status.containerStatuses[] | select(.name==\"$2\") | .ready"; }
restarts() { pod_field live '.status.containerStatuses[0].restartCount'; }
is() { [[ $("${@:2}") == "$1" ]]; }

log "liveness: a live httpd stays up; remove the served file -> 404 -> killed and restarted"
wait_for "live ready" 10 is true cready live web
web1=$(container_id live web)
[[ $(restarts) == 0 ]] || fail "live restarted before the file was removed"
t_rm=$(date +%s%N)
rexec "$web1" rm /www/index.html
wait_for "live restarted" 20 is 1 restarts
ms=$(( ($(date +%s%N) - t_rm) / 1000000 ))
log "404 -> restarted in $ms ms (period 1 s, probe grace 1 s)"
(( ms < 5000 )) || fail "the probe-level grace (1 s) did not override the pod's (5 s): ${ms} ms"
[[ $(container_id live web) != "$web1" ]] || fail "same container after a liveness failure"
grep -q 'Liveness probe failed: HTTP probe failed with statuscode: 404' "$E2E_TMP/nanolet.log" ||
  fail "no Unhealthy event with the probe output in the log"
wait_for "live running again" 10 is true cready live web

log "readiness: Ready flips both ways with the served file"
[[ $(cready ready web) == false && $(cond ready Ready) == False && $(cond ready ContainersReady) == False ]] ||
  fail "ready pod Ready before its readiness probe passed"
rdy=$(container_id ready web)
rexec "$rdy" sh -c 'echo yes > /www/ready.html'
wait_for "ready Ready=True" 10 is True cond ready Ready
[[ $(cond ready ContainersReady) == True && $(cready ready web) == true ]] || fail "ContainersReady/ready"
rexec "$rdy" rm /www/ready.html
wait_for "ready Ready=False" 10 is False cond ready Ready
[[ $(cond ready ContainersReady) == False && $(cready ready web) == false ]] || fail "ContainersReady/ready false"
[[ $(container_id ready web) == "$rdy" ]] || fail "a readiness failure restarted the container"

log "exec probe overrunning its timeout: a failure, and its process is gone"
grep -q 'pod="default/execp-e2e-node".*Readiness probe failed: command timed out' "$E2E_TMP/nanolet.log" ||
  wait_for "exec timeout reported" 10 grep -q 'Readiness probe failed: command timed out' "$E2E_TMP/nanolet.log"
[[ $(cready execp slow) == false && $(cond execp Ready) == False ]] || fail "exec-timeout pod is ready"
# One probe a second, each over its 1 s timeout: if the overrunning commands survived they would pile up.
slow=$(container_id execp slow)
max=0
for i in $(seq 10); do
  n=$(rexec "$slow" ps -o args | grep -c '^sleep 4711' || true)
  (( n > max )) && max=$n
  sleep 0.2  # sampling interval, not synchronisation
done
(( max <= 2 )) || fail "timed-out exec probes left $max processes running"

log "tcpSocket: open port ready, closed port not"
wait_for "tcp/up ready" 10 is true cready tcp up
[[ $(cready tcp down) == false && $(cond tcp Ready) == False ]] || fail "tcp/down ready or pod Ready"
grep -q 'Readiness probe failed: dial tcp .*:9090: connect: connection refused' "$E2E_TMP/nanolet.log" ||
  fail "no tcp failure event"

log "grpc: no server -> connect failure; SERVING -> Ready; NOT_SERVING -> not Ready (probe from the host via the bridge)"
t_grpc=$(date +%s%N)
GRPC_IP=$(pod_field grpc .status.podIP)
[[ $GRPC_IP == 10.231.$E2E_ID.* ]] || fail "grpc pod IP $GRPC_IP not on the test's bridge"
wait_for "grpc connect failure reported" 10 grep -q "Readiness probe failed: timeout: failed to connect service .*$GRPC_IP:9555.* within 1s: context deadline exceeded" "$E2E_TMP/nanolet.log"
[[ $(cready grpc app) == false && $(cond grpc Ready) == False ]] || fail "grpc pod Ready without a server"
echo SERVING >"$E2E_TMP/grpc.state"
GRPC_NETNS=/proc/$(container_pid "$(container_id grpc app)")/ns/net
nsenter --net="$GRPC_NETNS" /usr/bin/python3 "$NANOLET_SRC/tests/fixtures/grpc_health/server.py" --addr 0.0.0.0 \
  --port 9555 --state-file "$E2E_TMP/grpc.state" >"$E2E_TMP/grpc.out" 2>&1 &
GRPC_PID=$!
wait_for "grpc server listening" 10 grep -q '^port 9555' "$E2E_TMP/grpc.out"
wait_for "grpc Ready=True" 10 is True cond grpc Ready
[[ $(cond grpc ContainersReady) == True && $(cready grpc app) == true ]] || fail "grpc ContainersReady/ready"
echo NOT_SERVING >"$E2E_TMP/grpc.state"
wait_for "grpc Ready=False" 10 is False cond grpc Ready
grep -q 'Readiness probe failed: service unhealthy (responded with .\{0,2\}NOT_SERVING' "$E2E_TMP/nanolet.log" ||
  fail "no Unhealthy event with the grpc probe's NOT_SERVING"
stop_grpc
log "grpc part: $(( ($(date +%s%N) - t_grpc) / 1000000 )) ms"

log "metrics count probes"
if curl -sf "$API/metrics" >/dev/null 2>&1; then
  curl -sf "$API/metrics" | grep -q 'prober_probe_total{probe_type="Liveness",result="failed",container="web",pod="live-e2e-node",namespace="default"}' ||
    fail "prober_probe_total missing"
fi

log "deleting the pods stops their probes; nothing leaks"
rm -f "$MANIFESTS"/*.yaml
for p in live ready execp tcp grpc; do wait_for "$p gone" 30 pod_absent $p; done
expect_no_leaks "$BASELINE"
stop_nanolet
log "PASS ($(( $(date +%s) - T0 )) s after nanolet start)"
