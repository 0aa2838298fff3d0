#!/usr/bin/env bash
# End to end as a node of a cluster (the fixture kube-apiserver, node credentials held to the Node authorizer
# and NodeRestriction), with kubectl as the user's client: Node Ready and its Lease renewing; a pod created
# through the API runs and shows its IP; kubectl delete -> graceful termination -> gone; a static pod shows as a
# mirror pod; the apiserver away and back loses and duplicates nothing. Prints API requests per pod start and
# per idle interval.
source "$(dirname "$0")/lib.sh"
source "$NANOLET_SRC/tests/fixtures/apiserver/lib.sh"
# lib.sh's cleanup exits with the status it finds in $?: keep the test's own status across apiserver_stop.
cluster_exit() { local rc=$?; set +e; apiserver_stop; (exit "$rc"); cleanup; }
trap cluster_exit EXIT
ensure_image
apiserver_start "$E2E_TMP/api" --node e2e-node --bookmark-interval 2
start_nanolet --kubeconfig "$APISERVER_DIR/kubeconfig-e2e-node" --node-status-update-frequency 2s

k() { kubectl_fx "$@"; }
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

log "lease renews"
wait_for "lease renewed" 15 bash -c "[[ \$(kubectl --kubeconfig $APISERVER_KUBECONFIG --cache-dir $APISERVER_DIR/kubectl-cache get lease -n kube-node-lease e2e-node -o jsonpath='{.spec.renewTime}') != '$r1' ]]"

log "a static pod shows as a mirror pod"
cat >"$MANIFESTS/static.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: stat
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: nanolet.local/busybox:1.35
    command: ["sleep", "3600"]
YAML
wait_for "mirror pod Running" 20 api_phase_is stat-e2e-node Running
[[ -n $(k get pod stat-e2e-node -o jsonpath='{.metadata.annotations.kubernetes\.io/config\.mirror}') ]] || fail "mirror annotation"
[[ $(k get pod stat-e2e-node -o jsonpath='{.metadata.ownerReferences[0].kind}') == Node ]] || fail "mirror owner"
# The mirror pod is not run as a pod of its own: one sandbox for web, one for stat.
[[ $(ls "$ROOT/runtime/sandboxes" | wc -l) == 2 ]] || fail "mirror pod was run: $(ls "$ROOT/runtime/sandboxes" | wc -l) sandboxes"

log "idle API requests"
apiserver_ctl POST /counters >/dev/null
sleep 6  # an idle interval to count requests over (a figure, not synchronisation)
c=$(counters)
log "API requests in 6 s idle (node status every 2s, lease every 10s): $(jq -c .counts <<<"$c") total=$(jq .total <<<"$c")"

log "the apiserver goes away and comes back"
apiserver_ctl POST '/pause?seconds=10' >/dev/null
k2_create() { kubectl --kubeconfig "$APISERVER_KUBECONFIG" --cache-dir "$APISERVER_DIR/kubectl-cache" "$@"; }
sleep 1  # in the pause
wait_for "apiserver back" 20 k get --raw /healthz
sed 's/name: web/name: web2/' "$E2E_TMP/pod.yaml" >"$E2E_TMP/pod2.yaml"
k create -f "$E2E_TMP/pod2.yaml" >&2
wait_for "web2 Running after the outage" 30 api_phase_is web2 Running
api_phase_is web Running || fail "web lost after the outage"
[[ $(ls "$ROOT/runtime/sandboxes" | wc -l) == 3 ]] || fail "duplicate pods after the outage: $(ls "$ROOT/runtime/sandboxes" | wc -l) sandboxes"
[[ $(k get pods -o name | wc -l) == 3 ]] || fail "pods in the API: $(k get pods -o name)"

log "kubectl delete -> graceful termination -> gone"
t0=$(date +%s%N)
k delete pod web --wait=false >&2
wait_for "web gone from the API" 20 api_absent web
log "delete -> gone in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
grep -q bye "$LOGS"/default_web_*/app/0.log 2>/dev/null || fail "web did not get SIGTERM (no 'bye' in its log)"

log "static pod removed -> mirror pod deleted"
rm "$MANIFESTS/static.yaml"
wait_for "mirror gone" 20 api_absent stat-e2e-node
k delete pod web2 --wait=false >&2
wait_for "web2 gone" 20 api_absent web2
log "PASS"
