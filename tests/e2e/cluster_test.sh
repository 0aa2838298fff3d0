#!/usr/bin/env bash
# End to end as a node of a cluster (the fixture kube-apiserver, node credentials held to the Node authorizer
# and NodeRestriction), with kubectl as the user's client: Node Ready and its Lease renewing; a pod created
# through the API runs and shows its IP; kubectl delete -> graceful termination -> gone; a static pod shows as a
# mirror pod; the apiserver away and back loses and duplicates nothing; upstream's events (Pulled, Created,
# Started, Killing, node Starting/NodeReady) on the right objects; port 10250 authenticated by TokenReview and
# authorized by SubjectAccessReview. Bad input: a wrong CA, the apiserver down at start, an expired token, and
# garbled / oversized / wrong-kind objects in the pod watch. Prints API requests per pod start and per idle
# interval.
source "$(dirname "$0")/lib.sh"
source "$NANOLET_SRC/tests/fixtures/apiserver/lib.sh"
# lib.sh's cleanup exits with the status it finds in $?: keep the test's own status across apiserver_stop.
cluster_exit() { local rc=$?; set +e; apiserver_stop; (exit "$rc"); cleanup; }
trap cluster_exit EXIT
ensure_image
apiserver_start "$E2E_TMP/api" --node e2e-node --bookmark-interval 2
k() { kubectl_fx "$@"; }
log_mark() { if [[ -f $E2E_TMP/nanolet.log ]]; then wc -l <"$E2E_TMP/nanolet.log"; else echo 0; fi; }
# log_count MARK REGEX: lines matching REGEX in the nanolet log after line MARK.
log_count() { tail -n +"$(( $1 + 1 ))" "$E2E_TMP/nanolet.log" | grep -c -- "$2" || true; }
log_has() { (( $(log_count "$1" "$2") >= ${3:-1} )); }
# The Lease renewed every 2 s (a quarter of its duration, as upstream) instead of every 10 s, so that the
# waits for a renewal below are short.
cat >"$E2E_TMP/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
nodeLeaseDurationSeconds: 8
YAML
# static_pod NAME: a static pod whose container ends at once on SIGTERM.
static_pod() {
  cat >"$MANIFESTS/$1.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: nanolet.local/busybox:1.35
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
YAML
}

log "a wrong CA: a clear error, retried with backoff, no crash"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$E2E_TMP/other-ca.key" \
  -out "$E2E_TMP/other-ca.crt" -subj /CN=other-ca -days 1 2>/dev/null
sed "s|certificate-authority-data: .*|certificate-authority-data: $(base64 -w0 "$E2E_TMP/other-ca.crt")|" \
  "$APISERVER_DIR/kubeconfig-e2e-node" >"$E2E_TMP/kubeconfig-wrong-ca"
m=$(log_mark)
start_nanolet --kubeconfig "$E2E_TMP/kubeconfig-wrong-ca"
wait_for "certificate error logged, registration retried" 20 log_has "$m" "unable to register node.*certificate verify failed" 2
kill -0 "$NANOLET_PID" || fail "nanolet exited on a wrong CA"
stop_nanolet

log "the apiserver down at start: static pods run, registration is retried, the node appears once it is back"
apiserver_ctl POST '/pause?seconds=0' >/dev/null
static_pod early
SECURE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
m=$(log_mark)
start_nanolet --kubeconfig "$APISERVER_DIR/kubeconfig-e2e-node" --node-status-update-frequency 2s \
  --config "$E2E_TMP/kubelet.yaml" --authentication-token-webhook --authorization-mode Webhook
wait_for "static pod Running with the apiserver down" 30 pod_phase_is early Running
wait_for "registration retried" 15 log_has "$m" "unable to register node" 2
apiserver_ctl POST /resume >/dev/null

node_ready() { [[ $(k get node e2e-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
api_phase_is() { [[ $(k get pod "$1" -o jsonpath='{.status.phase}') == "$2" ]]; }
api_absent() { ! k get pod "$1" >/dev/null 2>&1; }
counters() { apiserver_ctl GET /counters; }

log "node registers and is Ready"
wait_for "node Ready" 15 node_ready
k get nodes -o wide >&2
[[ $(k get node e2e-node -o jsonpath='{.metadata.labels.kubernetes\.io/hostname}') == e2e-node ]] || fail "hostname label"
[[ $(k get node e2e-node -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}') == runc://* ]] || fail "runtime version"
[[ -n $(k get node e2e-node -o jsonpath='{.status.capacity.pods}') ]] || fail "capacity"
lease_renew() { k get lease -n kube-node-lease e2e-node -o jsonpath='{.spec.renewTime}'; }
wait_for "lease" 10 lease_renew
[[ $(k get lease -n kube-node-lease e2e-node -o jsonpath='{.spec.holderIdentity}') == e2e-node ]] || fail "lease holder"
[[ $(k get lease -n kube-node-lease e2e-node -o jsonpath='{.metadata.ownerReferences[0].kind}') == Node ]] || fail "lease owner"
r1=$(lease_renew)
wait_for "mirror of the static pod started while the apiserver was down" 20 api_phase_is early-e2e-node Running

log "port 10250: tokens checked by TokenReview, requests by SubjectAccessReview (cached)"
secure_code() { curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "https://127.0.0.1:$SECURE_PORT/pods"; }
node_token=$(grep ',system:node:e2e-node,' "$APISERVER_DIR/tokens.csv" | cut -d, -f1)
apiserver_ctl POST /counters >/dev/null
[[ $(secure_code "$APISERVER_TOKEN") == 200 ]] || fail "admin token (system:masters) not allowed on 10250"
[[ $(secure_code "$node_token") == 403 ]] || fail "node token allowed on 10250 (SubjectAccessReview should deny)"
[[ $(secure_code "not-a-token") == 401 ]] || fail "a bogus token not 401"
[[ $(secure_code "$APISERVER_TOKEN") == 200 ]] || fail "admin token, cached"
c=$(apiserver_ctl GET /counters)
[[ $(jq '.counts["create tokenreviews.authentication.k8s.io"] // 0' <<<"$c") == 3 ]] || fail "TokenReviews: $(jq -c .counts <<<"$c") (want 3: cached answers reused)"
[[ $(jq '.counts["create subjectaccessreviews.authorization.k8s.io"] // 0' <<<"$c") == 2 ]] || fail "SubjectAccessReviews: $(jq -c .counts <<<"$c")"

log "a pod created through the API runs"
cat >"$E2E_TMP/pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: e2e-node
  terminationGracePeriodSeconds: 3
  containers:
  - name: app
    image: nanolet.local/busybox:1.35
    command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; while true; do sleep 0.2; done"]
YAML
apiserver_ctl POST /counters >/dev/null
t0=$(date +%s%N)
k create -f "$E2E_TMP/pod.yaml" >&2
wait_for "web Running in the API" 30 api_phase_is web Running
log "create -> Running (seen by kubectl) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ip=$(k get pod web -o jsonpath='{.status.podIP}')
[[ $ip == 10.231.$E2E_ID.* ]] || fail "pod IP '$ip' not in the test subnet"
k get pods -o wide >&2
k get pods -o wide | grep -q "web.*Running.*$ip" || fail "kubectl get pods -o wide"
ready_true() { [[ $(k get pod web -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
wait_for "web Ready" 10 ready_true
sleep 1  # let a late status write land before counting (a figure, not synchronisation)
c=$(counters)
writes=$(jq '.counts["patch pods/status"] // 0' <<<"$c")
log "API requests for one pod start: $(jq -c .counts <<<"$c") total=$(jq .total <<<"$c"); status writes=$writes"
(( writes <= 3 )) || fail "$writes status writes for one pod start (at most 3)"

web_uid=$(k get pod web -o jsonpath='{.metadata.uid}')

log "garbled, oversized and wrong-kind objects in the pod watch: logged and skipped, other pods untouched"
m=$(log_mark)
apiserver_ctl POST '/inject?resource=pods' --data-binary 'this is {not json' >/dev/null
python3 -c 'import json; print(json.dumps({"type": "ADDED", "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "huge", "namespace": "default", "uid": "huge-uid", "annotations": {"x": "a" * (20 << 20)}}, "spec": {"nodeName": "e2e-node", "containers": [{"name": "c", "image": "nanolet.local/busybox:1.35"}]}}}))' >"$E2E_TMP/huge.json"
apiserver_ctl POST '/inject?resource=pods' --data-binary @"$E2E_TMP/huge.json" >/dev/null
apiserver_ctl POST '/inject?resource=pods' --data-binary '{"type":"ADDED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"evil","namespace":"default","uid":"evil-uid","resourceVersion":"1"},"spec":{"nodeName":"e2e-node","containers":[{"name":"c","image":"nanolet.local/busybox:1.35"}]}}}' >/dev/null
apiserver_ctl POST '/inject?resource=pods' --data-binary '{"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":5,"namespace":["x"],"uid":7},"spec":"nope"}}' >/dev/null
apiserver_ctl POST '/inject?resource=pods' --data-binary '{"type":"DELETED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"web","namespace":"default","uid":"'"$web_uid"'"}}}' >/dev/null
wait_for "garbled line logged" 10 log_has "$m" "malformed event skipped"
wait_for "oversized object logged" 10 log_has "$m" "oversized event dropped"
wait_for "wrong kinds logged" 10 log_has "$m" "not a v1 Pod" 2
wait_for "wrong types logged" 10 log_has "$m" "event without a name skipped"
kill -0 "$NANOLET_PID" || fail "nanolet died on bad watch input"
api_phase_is web Running || fail "web hurt by bad watch input"
pod_phase_is early Running || fail "static pod hurt by bad watch input"
[[ -z $(pods_json | jq -r '.items[] | select(.metadata.name=="evil" or .metadata.name=="huge") | .metadata.name') ]] || fail "a bad object was run"

log "lease renews"
wait_for "lease renewed" 15 bash -c "[[ \$(kubectl --kubeconfig $APISERVER_KUBECONFIG --cache-dir $APISERVER_DIR/kubectl-cache get lease -n kube-node-lease e2e-node -o jsonpath='{.spec.renewTime}') != '$r1' ]]"

log "a static pod shows as a mirror pod"
static_pod stat
wait_for "mirror pod Running" 20 api_phase_is stat-e2e-node Running
[[ -n $(k get pod stat-e2e-node -o jsonpath='{.metadata.annotations.kubernetes\.io/config\.mirror}') ]] || fail "mirror annotation"
[[ $(k get pod stat-e2e-node -o jsonpath='{.metadata.ownerReferences[0].kind}') == Node ]] || fail "mirror owner"
stat_uid=$(k get pod stat-e2e-node -o jsonpath='{.metadata.uid}')
# The mirror pod is not run as a pod of its own: one sandbox for web, one for stat.
[[ $(ls "$ROOT/runtime/sandboxes" | wc -l) == 3 ]] || fail "mirror pod was run: $(ls "$ROOT/runtime/sandboxes" | wc -l) sandboxes"

# Checked here, after what does not need them: the node's Starting event was first posted while the apiserver
# was down, and the recorder retries a failed post after 10 s with the events behind it waiting.
log "events: node Starting/NodeReady; Pulled, Created, Started on the container of web; a static pod's on its mirror pod"
node_event() { k get events -n default -o json | jq -e --arg r "$1" '[.items[] | select(.reason==$r and .involvedObject.kind=="Node" and .involvedObject.name=="e2e-node" and .source.component=="kubelet")] | length > 0' >/dev/null; }
wait_for "node event Starting (posted once the apiserver is back, 10 s retries)" 25 node_event Starting
wait_for "node event NodeReady" 10 node_event NodeReady
node_event NodeHasSufficientMemory || fail "no NodeHasSufficientMemory event"
pod_event() { k get events -o json | jq -e --arg r "$1" --arg uid "$2" '[.items[] | select(.reason==$r and .involvedObject.kind=="Pod" and .involvedObject.uid==$uid and .involvedObject.fieldPath=="spec.containers{app}" and .source.component=="kubelet" and .source.host=="e2e-node")] | length > 0' >/dev/null; }
for r in Pulled Created Started; do wait_for "event $r for web" 10 pod_event "$r" "$web_uid"; done
k get events -o json | jq -e --arg uid "$web_uid" '.items[] | select(.reason=="Started" and .involvedObject.uid==$uid) | .message == "Started container app"' >/dev/null || fail "Started message"
wait_for "a static pod's events on its mirror pod" 10 pod_event Started "$stat_uid"

log "idle API requests"
apiserver_ctl POST /counters >/dev/null
sleep 6  # an idle interval to count requests over (a figure, not synchronisation)
c=$(counters)
log "API requests in 6 s idle (node status every 2s, lease every 2s): $(jq -c .counts <<<"$c") total=$(jq .total <<<"$c")"

log "an expired node token: 401 named in the log, retried, recovered once it is valid again"
cp "$APISERVER_DIR/tokens.csv" "$E2E_TMP/tokens.bak"
m=$(log_mark)
grep -v ',system:node:e2e-node,' "$E2E_TMP/tokens.bak" >"$APISERVER_DIR/tokens.csv"
wait_for "401 logged" 15 log_has "$m" "401 Unauthorized: the apiserver rejected the credentials"
cp "$E2E_TMP/tokens.bak" "$APISERVER_DIR/tokens.csv"
t_ok=$(date +%s)
lease_ok_since() { apiserver_ctl GET "/requests?since=$1" | jq -e '[.requests[] | select((.resource | startswith("leases")) and .code==200)] | length > 0' >/dev/null; }
wait_for "lease renewed again" 15 lease_ok_since "$t_ok"
kill -0 "$NANOLET_PID" || fail "nanolet died on 401s"

log "the apiserver goes away and comes back"
m=$(log_mark)
apiserver_ctl POST '/pause?seconds=0' >/dev/null  # connections dropped and refused until /resume
wait_for "pod watch broken by the outage" 10 log_has "$m" "watch broken; rewatching"
wait_for "a watch reconnect refused while the apiserver is away" 15 log_has "$m" "watch broken; rewatching.*Couldn't connect"
apiserver_ctl POST /resume >/dev/null
wait_for "apiserver back" 20 k get --raw /healthz
sed 's/name: web/name: web2/' "$E2E_TMP/pod.yaml" >"$E2E_TMP/pod2.yaml"
k create -f "$E2E_TMP/pod2.yaml" >&2
wait_for "web2 Running after the outage" 30 api_phase_is web2 Running
api_phase_is web Running || fail "web lost after the outage"
[[ $(ls "$ROOT/runtime/sandboxes" | wc -l) == 4 ]] || fail "duplicate pods after the outage: $(ls "$ROOT/runtime/sandboxes" | wc -l) sandboxes"
[[ $(k get pods -o name | wc -l) == 4 ]] || fail "pods in the API: $(k get pods -o name)"

log "kubectl delete -> graceful termination -> gone"
t0=$(date +%s%N)
k delete pod web --wait=false >&2
wait_for "web gone from the API" 20 api_absent web
log "delete -> gone in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
grep -q bye "$LOGS"/default_web_*/app/0.log 2>/dev/null || fail "web did not get SIGTERM (no 'bye' in its log)"
wait_for "event Killing for web" 10 pod_event Killing "$web_uid"

log "static pod removed -> mirror pod deleted"
rm "$MANIFESTS/stat.yaml"
wait_for "mirror gone" 20 api_absent stat-e2e-node
k delete pod web2 --wait=false >&2
wait_for "web2 gone" 20 api_absent web2
log "PASS"
