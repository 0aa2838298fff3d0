#!/usr/bin/env bash
# End to end on real runc and CNI: the restart matrix (Always/OnFailure/Never x exit 0/1) with restartCount,
# phase and CrashLoopBackOff; init containers in order; a SIGTERM handler's marker; termination messages (file
# and FallbackToLogsOnError); activeDeadlineSeconds; --manifest-url served by a local HTTP server (a PodList
# whose items carry no kind, a failed and a garbled fetch keeping the pods); nothing leaks.
source "$(dirname "$0")/lib.sh"
ensure_image
BASELINE=$(snapshot_resources)
IMG=nanolet.local/busybox:1.35

# The manifest URL: python's http.server on loopback, serving $WWW.
WWW=$E2E_TMP/www; mkdir -p "$WWW"
HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$WWW" >"$E2E_TMP/http.log" 2>&1 &
HTTP_PID=$!
stop_http() { if kill -0 "$HTTP_PID" 2>/dev/null; then kill "$HTTP_PID"; wait "$HTTP_PID" 2>/dev/null || true; fi; }
# (set +e: under errexit `(exit $rc)` with rc != 0 would end the trap before cleanup ran.)
trap 'rc=$?; stop_http || true; set +e; (exit $rc); cleanup' EXIT
wait_for "http server" 10 curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/"
# A PodList as the apiserver serves it: the items carry no kind or apiVersion.
cat >"$WWW/pods.json.tmp" <<JSON
{"apiVersion":"v1","kind":"PodList","items":[
 {"metadata":{"name":"url-a"},"spec":{"terminationGracePeriodSeconds":0,
  "containers":[{"name":"c","image":"$IMG","command":["sleep","3600"]}]}},
 {"metadata":{"name":"url-b"},"spec":{"terminationGracePeriodSeconds":0,
  "containers":[{"name":"c","image":"$IMG","command":["sleep","3600"]}]}}]}
JSON
mv "$WWW/pods.json.tmp" "$WWW/pods.json"

T0=$(date +%s%N)
start_nanolet --manifest-url "http://127.0.0.1:$HTTP_PORT/pods.json" --http-check-frequency 500ms

# --- restart matrix: all six pods at once.
for policy in Always OnFailure Never; do
  for code in 0 1; do
    name=$(echo "$policy" | tr A-Z a-z)-$code
    cat >"$MANIFESTS/$name.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $name}
spec:
  restartPolicy: $policy
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: $IMG, command: ["sh", "-c", "exit $code"]}
YAML
  done
done

# --- init containers in order, then the app; the app reports what it found as its termination message.
cat >"$MANIFESTS/init.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: init}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  volumes: [{name: w, emptyDir: {}}]
  initContainers:
  - {name: first, image: $IMG, command: ["sh", "-c", "echo -n 1 >> /w/order"], volumeMounts: [{name: w, mountPath: /w}]}
  - {name: second, image: $IMG, command: ["sh", "-c", "sleep 0.2; echo -n 2 >> /w/order"], volumeMounts: [{name: w, mountPath: /w}]}
  containers:
  - {name: app, image: $IMG, command: ["sh", "-c", "echo -n 3 >> /w/order; cat /w/order > /dev/termination-log"], volumeMounts: [{name: w, mountPath: /w}]}
YAML

# --- termination messages: the file, and the log's last lines on an error exit.
cat >"$MANIFESTS/msg.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: msg}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
  - {name: file, image: $IMG, command: ["sh", "-c", "echo -n 'custom message' > /dev/termination-log; exit 3"]}
  - name: logs
    image: $IMG
    terminationMessagePolicy: FallbackToLogsOnError
    command: ["sh", "-c", "echo first words; echo last words >&2; exit 4"]
YAML

# --- activeDeadlineSeconds.
cat >"$MANIFESTS/deadline.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: deadline}
spec:
  activeDeadlineSeconds: 2
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: $IMG, command: ["sleep", "3600"]}
YAML

# --- a SIGTERM handler writes its marker when the pod is removed.
mkdir -p "$E2E_TMP/marker"
cat >"$MANIFESTS/trap.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: trap}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{name: out, hostPath: {path: $E2E_TMP/marker, type: Directory}}]
  containers:
  - name: c
    image: $IMG
    command: ["sh", "-c", "trap 'echo bye > /out/trapped; exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{name: out, mountPath: /out}]
YAML

cs() { pod_field "$1" ".status.containerStatuses[] | select(.name==\"${3:-c}\") | $2"; }
field_is() { [[ $(pod_field "$1" "$2") == "$3" ]]; }
cs_is() { [[ $(cs "$1" "$2" "${4:-c}") == "$3" ]]; }
crashlooping() { cs_is "$1" .state.waiting.reason CrashLoopBackOff; }

log "restart matrix"
wait_for "never-0 Succeeded" 30 pod_phase_is never-0 Succeeded
wait_for "never-1 Failed" 30 pod_phase_is never-1 Failed
wait_for "onfailure-0 Succeeded" 30 pod_phase_is onfailure-0 Succeeded
wait_for "onfailure-1 in CrashLoopBackOff" 30 crashlooping onfailure-1
wait_for "always-1 in CrashLoopBackOff" 30 crashlooping always-1
wait_for "always-0 in CrashLoopBackOff" 30 crashlooping always-0
for p in never-0 never-1 onfailure-0; do
  [[ $(cs $p .restartCount) == 0 ]] || fail "$p restarted: $(cs $p .restartCount)"
done
[[ $(cs never-0 .state.terminated.reason) == Completed ]] || fail "never-0 reason $(cs never-0 .state.terminated.reason)"
[[ $(cs never-1 .state.terminated.reason) == Error ]] || fail "never-1 reason"
[[ $(cs never-1 .state.terminated.exitCode) == 1 ]] || fail "never-1 exit code"
for p in always-0 always-1 onfailure-1; do
  [[ $(pod_field $p .status.phase) == Running ]] || fail "$p phase $(pod_field $p .status.phase), want Running"
  (( $(cs $p .restartCount) >= 1 )) || fail "$p restartCount $(cs $p .restartCount)"
  uid=$(pod_field $p .metadata.uid)
  want="back-off 10s restarting failed container=c pod=$p-e2e-node_default($uid)"
  [[ $(cs $p .state.waiting.message) == "$want" ]] || fail "$p waiting message: $(cs $p .state.waiting.message)"
done
[[ $(cs always-1 .lastState.terminated.exitCode) == 1 ]] || fail "always-1 lastState exit code"
[[ $(cs always-0 .lastState.terminated.reason) == Completed ]] || fail "always-0 lastState reason"
[[ $(cs always-1 .ready) == false ]] || fail "a crashlooping container is ready"

log "init containers run in order before the app"
wait_for "init Succeeded" 30 pod_phase_is init Succeeded
[[ $(cs init .state.terminated.message app) == 123 ]] || fail "order seen by the app: $(cs init .state.terminated.message app)"
for c in first second; do
  [[ $(pod_field init ".status.initContainerStatuses[] | select(.name==\"$c\") | .state.terminated.reason") == Completed ]] \
    || fail "init container $c not Completed"
done
[[ $(pod_field init '.status.conditions[] | select(.type=="Initialized") | .status') == True ]] || fail "Initialized"
[[ $(pod_field init .status.qosClass) == BestEffort ]] || fail "qosClass $(pod_field init .status.qosClass)"

log "termination messages"
wait_for "msg Failed" 30 pod_phase_is msg Failed
[[ $(cs msg .state.terminated.message file) == "custom message" ]] || fail "file message: $(cs msg .state.terminated.message file)"
[[ $(cs msg .state.terminated.exitCode file) == 3 ]] || fail "file exit code"
[[ $(cs msg .state.terminated.message logs) == $'first words\nlast words' ]] \
  || fail "fallback message: $(cs msg .state.terminated.message logs)"

log "activeDeadlineSeconds"
wait_for "deadline Failed" 15 pod_phase_is deadline Failed
field_is deadline .status.reason DeadlineExceeded || fail "deadline reason $(pod_field deadline .status.reason)"
field_is deadline .status.message "Pod was active on the node longer than the specified deadline" || fail "deadline message"
[[ -n $(cs deadline .state.terminated.exitCode) ]] || fail "the deadline pod's container was not killed"

log "--manifest-url: a PodList without item kinds; failed and garbled fetches keep the pods"
wait_for "url-a Running" 30 pod_phase_is url-a Running
wait_for "url-b Running" 30 pod_phase_is url-b Running
[[ $(pod_field url-a '.metadata.annotations["kubernetes.io/config.source"]') == http ]] || fail "url config.source"
ua=$(pod_field url-a .metadata.uid)
mv "$WWW/pods.json" "$WWW/pods.json.bak"  # 404
n404() { grep -c '"GET /pods.json HTTP/1.1" 404' "$E2E_TMP/http.log" || true; }
n0=$(n404)
two_failed_fetches() { (( $(n404) >= n0 + 2 )); }
wait_for "two failed fetches" 10 two_failed_fetches
n200() { grep -c '"GET /pods.json HTTP/1.1" 200' "$E2E_TMP/http.log" || true; }
m0=$(n200)
echo '{"apiVersion":"v1","kind":"PodList","items":[{"metadata":' >"$WWW/pods.json"  # garbled
two_garbled_fetches() { (( $(n200) >= m0 + 2 )); }
wait_for "two garbled fetches" 10 two_garbled_fetches
[[ $(pod_field url-a .metadata.uid) == "$ua" ]] || fail "url-a replaced or removed after a failed fetch"
field_is url-b .status.phase Running || fail "url-b lost after a failed fetch"
# A single Pod replaces the list: url-b goes away, url-a stays.
cat >"$WWW/pods.json.tmp" <<JSON
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"url-a"},"spec":{"terminationGracePeriodSeconds":0,
  "containers":[{"name":"c","image":"$IMG","command":["sleep","3600"]}]}}
JSON
mv "$WWW/pods.json.tmp" "$WWW/pods.json"
wait_for "url-b gone" 20 pod_absent url-b
[[ $(pod_field url-a .metadata.uid) == "$ua" ]] || fail "url-a replaced"

log "SIGTERM handler runs when its pod is removed"
wait_for "trap Running" 30 pod_phase_is trap Running
t0=$(date +%s%N)
rm "$MANIFESTS/trap.yaml"
wait_for "trap gone" 20 pod_absent trap
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ $(cat "$E2E_TMP/marker/trapped" 2>/dev/null) == bye ]] || fail "no marker from the SIGTERM handler"
(( elapsed < 8000 )) || fail "a container that exits on SIGTERM took ${elapsed} ms to stop (grace 10 s)"

log "removing everything; nothing leaks"
rm -f "$MANIFESTS"/*.yaml
echo '{"apiVersion":"v1","kind":"PodList","items":[]}' >"$WWW/pods.json"
no_pods() { [[ $(pods_json | jq '.items | length') == 0 ]]; }
wait_for "all pods gone" 30 no_pods
expect_no_leaks "$BASELINE"
stop_nanolet
log "PASS in $(( ($(date +%s%N) - T0) / 1000000 )) ms"
