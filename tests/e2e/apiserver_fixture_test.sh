#!/usr/bin/env bash
# The fixture kube-apiserver (tests/fixtures/apiserver) checked with real kubectl and raw HTTP: kubectl create/get/
# delete/watch of pods, nodes, leases and configmaps, graceful pod deletion, 401 with a wrong token, the Node
# authorizer and NodeRestriction for a node's credentials; watch streams with resourceVersion, selectors, bookmarks,
# timeoutSeconds, 410 Expired after compaction; 409 Conflict on stale leases and UID preconditions, 422 on a stale
# UID in a status patch, status strategic-merge patches; the pause knob and the request counters. Also runs the
# fixture's unit tests (selftest.py). Needs no root and no nanolet; ~3 s of CPU, 15-20 s wall at load ~20.
set -euo pipefail
: "${NANOLET_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
command -v kubectl >/dev/null || { echo "SKIP: kubectl not installed"; exit 0; }

T0=$(date +%s%N)
TMP=$(mktemp -d /tmp/nanolet-apifx.XXXXXX)
# the fixture's unit tests run while it starts
python3 "$NANOLET_SRC/tests/fixtures/apiserver/selftest.py" >"$TMP/selftest.log" 2>&1 &
SELFTEST=$!
source "$NANOLET_SRC/tests/fixtures/apiserver/lib.sh"
log() { echo "[$(date +%T.%3N)] $*" >&2; }
fail() { log "FAIL: $*"; [[ -f $TMP/fx/apiserver.log ]] && tail -30 "$TMP/fx/apiserver.log" >&2; exit 1; }
cleanup() {
  local rc=$?
  apiserver_stop
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT

apiserver_start "$TMP/fx" --node e2e-node --bookmark-interval 0.5 --history 20 || fail "fixture apiserver did not start"
wait "$SELFTEST" || { cat "$TMP/selftest.log" >&2; fail "fixture selftest"; }
SERVER=$APISERVER_URL
TOKEN=$APISERVER_TOKEN
CTL=$APISERVER_CTL
K() { kubectl_fx "$@"; }
api() { curl -sS --cacert "$TMP/fx/ca.crt" -H "Authorization: Bearer $TOKEN" "$@"; }
log "fixture at $SERVER (started in $(( ($(date +%s%N) - T0) / 1000000 )) ms)"

log "kubectl create -f pod.yaml, get pods -o wide, get pod -o yaml"
cat >"$TMP/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  nodeName: e2e-node
  terminationGracePeriodSeconds: 30
  containers:
  - name: httpd
    image: nanolet.local/busybox:1.35
YAML
[[ $(K create -f "$TMP/pod.yaml") == "pod/web created" ]] || fail "kubectl create -f"
out=$(K create -f "$TMP/pod.yaml" 2>&1) && fail "second create succeeded"
[[ $out == *'Error from server (AlreadyExists): error when creating "'*'": pods "web" already exists'* ]] || fail "AlreadyExists: $out"
yaml=$(K get pod web -o yaml)
for want in 'uid: ' 'resourceVersion: "' 'creationTimestamp: "' 'phase: Pending' 'nodeName: e2e-node'; do
  [[ $yaml == *"$want"* ]] || fail "get pod -o yaml lacks '$want': $yaml"
done
uid=$(sed -n 's/^  uid: //p' <<<"$yaml")
[[ $(api "$SERVER/api/v1/namespaces/default/pods/nope") == '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}' ]] \
  || fail "NotFound: $(api "$SERVER/api/v1/namespaces/default/pods/nope")"

log "status strategic-merge patch (conditions by type, containerStatuses whole), UID in the patch"
api -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' \
  "$SERVER/api/v1/namespaces/default/pods/web/status" -d '{"metadata":{"uid":"'"$uid"'"},"status":{
   "$setElementOrder/conditions":[{"type":"Initialized"},{"type":"Ready"}],
   "conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":"True"}],"phase":"Running",
   "podIP":"10.231.0.7","podIPs":[{"ip":"10.231.0.7"}],"containerStatuses":[{"name":"httpd","ready":true,
   "restartCount":0,"image":"nanolet.local/busybox:1.35","imageID":"","started":true,
   "state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}}' >"$TMP/p1.json"
[[ $(jq -r '.status.phase' "$TMP/p1.json") == Running ]] || fail "status patch: $(cat "$TMP/p1.json")"
api -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' \
  "$SERVER/api/v1/namespaces/default/pods/web/status" \
  -d '{"metadata":{"uid":"'"$uid"'"},"status":{"conditions":[{"type":"Ready","status":"False"}]}}' >"$TMP/p2.json"
[[ $(jq -c '[.status.conditions[] | .type + "=" + .status]' "$TMP/p2.json") == '["Initialized=True","Ready=False"]' ]] \
  || fail "conditions not merged by type: $(jq -c .status.conditions "$TMP/p2.json")"
code=$(api -o "$TMP/p3.json" -w '%{http_code}' -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' \
  "$SERVER/api/v1/namespaces/default/pods/web/status" -d '{"metadata":{"uid":"stale"},"status":{"phase":"Failed"}}')
[[ $code == 422 && $(jq -r .message "$TMP/p3.json") == *'metadata.uid: Invalid value: "stale": field is immutable'* ]] \
  || fail "patch with a stale UID: $code $(cat "$TMP/p3.json")"
K get pods -o wide | grep -Eq '^web +1/1 +Running +0 +[0-9]+s +10\.231\.0\.7 +e2e-node ' || fail "Running in get -o wide: $(K get pods -o wide)"

log "kubectl create configmap (a protobuf body), get it back"
K create configmap cfg --from-literal=k=v >/dev/null || fail "create configmap"
[[ $(api "$SERVER/api/v1/namespaces/default/configmaps/cfg" | jq -r .data.k) == v ]] || fail "configmap data"

log "kubectl create node, get nodes; lease in kube-node-lease, 409 on a stale resourceVersion"
cat >"$TMP/node.yaml" <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: e2e-node
  labels: {kubernetes.io/hostname: e2e-node}
status:
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: kubelet is posting ready status}
  nodeInfo: {kubeletVersion: v1.32.0-nanolet}
YAML
[[ $(K create -f "$TMP/node.yaml") == "node/e2e-node created" ]] || fail "create node"
K get nodes | grep -Eq '^e2e-node +Ready +<none> +[0-9]+s +v1\.32\.0-nanolet$' || fail "get nodes: $(K get nodes)"
lease='{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"e2e-node","namespace":"kube-node-lease"},"spec":{"holderIdentity":"e2e-node","leaseDurationSeconds":40,"renewTime":"2026-01-01T00:00:00.000000Z"}}'
LEASES=$SERVER/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases
rv=$(api -X POST -H 'Content-Type: application/json' "$LEASES" -d "$lease" | jq -r .metadata.resourceVersion)
K get leases -n kube-node-lease | grep -Eq '^e2e-node +e2e-node +[0-9]+s$' || fail "get leases: $(K get leases -n kube-node-lease)"
renew=$(jq -c --arg rv "$rv" '.metadata.resourceVersion=$rv | .spec.renewTime="2026-01-01T00:00:10.000000Z"' <<<"$lease")
rv2=$(api -X PUT -H 'Content-Type: application/json' "$LEASES/e2e-node" -d "$renew" | jq -r .metadata.resourceVersion)
(( rv2 > rv )) || fail "lease renewal did not bump resourceVersion ($rv -> $rv2)"
code=$(api -o "$TMP/l.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' "$LEASES/e2e-node" -d "$renew")
[[ $code == 409 && $(jq -r .reason "$TMP/l.json") == Conflict && \
   $(jq -r .message "$TMP/l.json") == 'Operation cannot be fulfilled on leases.coordination.k8s.io "e2e-node": the object has been modified; please apply your changes to the latest version and try again' ]] \
  || fail "stale lease update: $code $(cat "$TMP/l.json")"

log "kubectl get pods -w sees a new pod and the graceful delete; delete --wait=false sets deletionTimestamp"
K get pods -w --request-timeout=0 >"$TMP/watch.out" 2>&1 &
KW=$!
sleep 0.5  # let kubectl list and open its watch (its output is checked below with a deadline)
sed 's/name: web/name: web2/' "$TMP/pod.yaml" | K create -f - >/dev/null
[[ $(K delete pod web --wait=false) == 'pod "web" deleted' ]] || fail "kubectl delete"
dt=$(K get pod web -o jsonpath='{.metadata.deletionTimestamp} {.metadata.deletionGracePeriodSeconds}')
[[ $dt =~ ^20[0-9-]+T[0-9:]+Z\ 30$ ]] || fail "bound pod not gracefully deleted: '$dt'"
for _ in $(seq 100); do grep -q 'Terminating' "$TMP/watch.out" && grep -q '^web2 ' "$TMP/watch.out" && break; sleep 0.05; done
kill "$KW" 2>/dev/null; wait "$KW" 2>/dev/null || true
grep -q '^web2 .*Pending' "$TMP/watch.out" && grep -q '^web .*Terminating' "$TMP/watch.out" \
  || fail "kubectl get pods -w: $(cat "$TMP/watch.out")"

log "final DELETE: grace 0 with a UID precondition (wrong UID -> 409, right one -> gone)"
code=$(api -o "$TMP/d.json" -w '%{http_code}' -X DELETE -H 'Content-Type: application/json' \
  "$SERVER/api/v1/namespaces/default/pods/web" -d '{"gracePeriodSeconds":0,"preconditions":{"uid":"not-it"}}')
[[ $code == 409 && $(jq -r .message "$TMP/d.json") == *"the UID in the precondition (not-it) does not match the UID in record ($uid)"* ]] \
  || fail "delete with a wrong UID: $code $(cat "$TMP/d.json")"
code=$(api -o "$TMP/d.json" -w '%{http_code}' -X DELETE -H 'Content-Type: application/json' \
  "$SERVER/api/v1/namespaces/default/pods/web" -d '{"gracePeriodSeconds":0,"preconditions":{"uid":"'"$uid"'"}}')
[[ $code == 200 && $(jq -r .metadata.uid "$TMP/d.json") == "$uid" ]] || fail "final delete: $code $(cat "$TMP/d.json")"
[[ $(api -o /dev/null -w '%{http_code}' "$SERVER/api/v1/namespaces/default/pods/web") == 404 ]] || fail "pod still there"
# an unbound pod goes at once
api -X POST -H 'Content-Type: application/json' "$SERVER/api/v1/namespaces/default/pods" \
  -d '{"metadata":{"name":"loose"},"spec":{"containers":[{"name":"c","image":"i"}]}}' >/dev/null
K delete pod loose --wait=false >/dev/null
[[ $(api -o /dev/null -w '%{http_code}' "$SERVER/api/v1/namespaces/default/pods/loose") == 404 ]] || fail "unbound pod kept"

log "401 with a wrong token"
sed "s/token: .*/token: wrong/" "$TMP/fx/kubeconfig" >"$TMP/bad-kubeconfig"
out=$(kubectl --kubeconfig "$TMP/bad-kubeconfig" --cache-dir "$TMP/kcache2" get pods 2>&1) && fail "wrong token accepted"
# kubectl 1.32 words it "(the server has asked for the client to provide credentials)" as against a real
# apiserver (its discovery client does not surface the Status message); older ones "(Unauthorized)".
[[ $out == *"error: You must be logged in to the server ("* ]] || fail "401 message: $out"
[[ $(curl -sS --cacert "$TMP/fx/ca.crt" "$SERVER/api/v1/pods" | jq -c '[.code,.reason]') == '[401,"Unauthorized"]' ]] \
  || fail "no token: not 401"
# the node's client certificate authenticates too
[[ $(curl -sS --cacert "$TMP/fx/ca.crt" --cert "$TMP/fx/client-system_node_e2e-node.crt" \
     --key "$TMP/fx/client-system_node_e2e-node.key" "$SERVER/api/v1/nodes/e2e-node" | jq -r .metadata.name) == e2e-node ]] \
  || fail "client certificate"

log "node user: Node authorizer and NodeRestriction"
out=$(K --kubeconfig "$TMP/fx/kubeconfig-e2e-node" get pods 2>&1) && fail "node listed every pod"
[[ $out == *'pods is forbidden: User "system:node:e2e-node" cannot list resource "pods" in API group "" in the namespace "default": can only list/watch pods with spec.nodeName field selector'* ]] \
  || fail "node list without selector: $out"
NTOKEN=$(grep -F 'system:node:e2e-node' "$TMP/fx/tokens.csv" | cut -d, -f1)
napi() { curl -sS --cacert "$TMP/fx/ca.crt" -H "Authorization: Bearer $NTOKEN" "$@"; }
[[ $(napi "$SERVER/api/v1/pods?fieldSelector=spec.nodeName%3De2e-node" | jq -r '.items[].metadata.name') == web2 ]] \
  || fail "node list with its selector"
node_uid=$(api "$SERVER/api/v1/nodes/e2e-node" | jq -r .metadata.uid)
mirror='{"metadata":{"name":"static-e2e-node","annotations":{"kubernetes.io/config.mirror":"h"},"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"e2e-node","uid":"'"$node_uid"'","controller":true}]},"spec":{"nodeName":"e2e-node","containers":[{"name":"c","image":"i"}]}}'
[[ $(napi -X POST -H 'Content-Type: application/json' "$SERVER/api/v1/namespaces/default/pods" -d "$mirror" | jq -r .metadata.name) == static-e2e-node ]] \
  || fail "mirror pod create"
[[ $(napi -X POST -H 'Content-Type: application/json' "$SERVER/api/v1/namespaces/default/pods" \
     -d "$(jq -c 'del(.metadata.annotations) | .metadata.name="x"' <<<"$mirror")" | jq -r .message) == \
   'pods "x" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "e2e-node" can only create mirror pods' ]] \
  || fail "non-mirror pod create by a node"
[[ $(napi "$LEASES" | jq -r .code) == 403 && $(napi "$LEASES/e2e-node" | jq -r .metadata.name) == e2e-node ]] \
  || fail "node lease access"

log "watch streams: resourceVersion, field selector, bookmarks, timeoutSeconds, 410 Expired, pause"
python3 - "$SERVER" "$TOKEN" "$TMP/fx/ca.crt" "$CTL" <<'PY'
import http.client, json, ssl, socket, sys, time, urllib.request
server, token, ca, ctl = sys.argv[1:]
host, port = server[len("https://"):].split(":")
ctx = ssl.create_default_context(cafile=ca)
H = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
def req(method, path, body=None, ctype="application/json"):
    c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=dict(H, **{"Content-Type": ctype}))
    r = c.getresponse(); data = json.loads(r.read() or b"null"); c.close()
    return r.status, data
def watch(path):
    c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    c.request("GET", path, headers=H)
    r = c.getresponse(); assert r.status == 200, r.status
    return c, r
def events(r, n):
    out = []
    while len(out) < n:
        line = r.readline()
        if not line: break
        out.append(json.loads(line))
    return out
def check(cond, msg):
    if not cond: print("FAIL:", msg, file=sys.stderr); sys.exit(1)
PODS = "/api/v1/namespaces/default/pods"
pod = lambda n, node: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n},
                       "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]}}
st, lst = req("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn9")
check(st == 200 and lst["kind"] == "PodList" and lst["items"] == [], "list: %s" % lst)
rv = lst["metadata"]["resourceVersion"]
c, r = watch("/api/v1/pods?watch=1&fieldSelector=spec.nodeName%%3Dn9&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=5" % rv)
req("POST", PODS, pod("a", "n9")); req("POST", PODS, pod("b", "other"))
st, a = req("PATCH", PODS + "/a", {"metadata": {"labels": {"x": "y"}}}, "application/merge-patch+json")
check(st == 200 and a["metadata"]["labels"] == {"x": "y"}, "merge patch: %s" % a)
st, d = req("DELETE", PODS + "/a?gracePeriodSeconds=0")
check(st == 200, "delete a: %s" % d)
ev = [e for e in events(r, 4) if e["type"] != "BOOKMARK"][:3]
check([e["type"] for e in ev] == ["ADDED", "MODIFIED", "DELETED"] and all(e["object"]["metadata"]["name"] == "a" for e in ev),
      "watch events: %s" % [(e["type"], e["object"]["metadata"]["name"]) for e in ev])
check(ev[0]["object"]["kind"] == "Pod" and ev[0]["object"]["apiVersion"] == "v1", "event object kind")
check(int(ev[2]["object"]["metadata"]["resourceVersion"]) > int(ev[1]["object"]["metadata"]["resourceVersion"]), "rv order")
t0 = time.time(); bm = None
while time.time() - t0 < 3:
    e = events(r, 1)
    if e and e[0]["type"] == "BOOKMARK": bm = e[0]; break
check(bm and bm["object"]["kind"] == "Pod" and int(bm["object"]["metadata"]["resourceVersion"]) >= int(ev[2]["object"]["metadata"]["resourceVersion"]),
      "bookmark: %s" % bm)
c.close()
# timeoutSeconds ends the stream cleanly
t0 = time.time(); c, r = watch("/api/v1/nodes?watch=1&resourceVersion=%s&timeoutSeconds=1" % rv)
r.read(); check(0.8 < time.time() - t0 < 3, "timeoutSeconds not honoured: %.1f s" % (time.time() - t0)); c.close()
# a field selector transition: a pod moved off the node comes as DELETED
st, p = req("POST", PODS, pod("c", "n9")); rvc = p["metadata"]["resourceVersion"]
c, r = watch("/api/v1/pods?watch=1&fieldSelector=metadata.name%%3Dc&labelSelector=keep&resourceVersion=%s&timeoutSeconds=3" % rvc)
req("PATCH", PODS + "/c", {"metadata": {"labels": {"keep": "1"}}}, "application/strategic-merge-patch+json")
req("PATCH", PODS + "/c", {"metadata": {"labels": {"keep": None}}}, "application/strategic-merge-patch+json")
ev = events(r, 2); c.close()
check([e["type"] for e in ev] == ["ADDED", "DELETED"], "selector transitions: %s" % [e["type"] for e in ev])
# too old resourceVersion after compaction: ERROR 410 Expired
urllib.request.urlopen(urllib.request.Request(ctl + "/compact", method="POST")).read()
c, r = watch("/api/v1/pods?watch=1&resourceVersion=%s" % rv)
ev = events(r, 1); c.close()
check(ev and ev[0]["type"] == "ERROR" and ev[0]["object"]["code"] == 410 and ev[0]["object"]["reason"] == "Expired"
      and ev[0]["object"]["message"].startswith("too old resource version: %s (" % rv), "410: %s" % ev)
# 422 with details, 404 for a missing namespace
st, e = req("POST", PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"}, "spec": {"containers": [{"name": "c"}]}})
check(st == 422 and e["message"] == 'Pod "bad" is invalid: spec.containers[0].image: Required value'
      and e["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}], "422: %s" % e)
st, e = req("POST", "/api/v1/namespaces/nope/pods", pod("x", ""))
check(st == 404 and e["message"] == 'namespaces "nope" not found', "404 namespace: %s" % e)
# pause: connections refused, then back with the state kept
urllib.request.urlopen(urllib.request.Request(ctl + "/pause?seconds=0.5", method="POST")).read()
time.sleep(0.2)
try:
    socket.create_connection((host, int(port)), timeout=1).close(); check(False, "connected while paused")
except ConnectionRefusedError:
    pass
deadline = time.time() + 5
while time.time() < deadline:
    try:
        st, p = req("GET", PODS + "/c"); break
    except OSError:
        time.sleep(0.05)
check(st == 200 and p["metadata"]["name"] == "c", "state after pause: %s" % p)
cnt = json.load(urllib.request.urlopen(ctl + "/counters"))["counts"]
check(cnt.get("patch pods/status", 0) >= 3 and cnt.get("watch pods", 0) >= 3 and cnt.get("create pods", 0) >= 3, "counters: %s" % cnt)
PY

log "TokenReview and SubjectAccessReview (what a kubelet's webhook authn/authz asks)"
NODE_TOKEN=$(grep ',system:node:e2e-node,' "$TMP/fx/tokens.csv" | cut -d, -f1)
review() {  # TOKEN PATH BODY: as that user
  curl -sS --cacert "$TMP/fx/ca.crt" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -X POST --data "$3" "$(jq -r .server "$TMP/fx/ready.json")$2"
}
TR=/apis/authentication.k8s.io/v1/tokenreviews
SAR=/apis/authorization.k8s.io/v1/subjectaccessreviews
out=$(review "$NODE_TOKEN" $TR '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"'"$(jq -r .token "$TMP/fx/ready.json")"'"}}')
[[ $(jq -r '.status.authenticated, .status.user.username' <<<"$out" | tr '\n' ' ') == "true admin " ]] || fail "TokenReview of the admin token: $out"
jq -e '.status.user.groups | index("system:masters")' <<<"$out" >/dev/null || fail "TokenReview groups: $out"
out=$(review "$NODE_TOKEN" $TR '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"bogus"}}')
[[ $(jq -r .status.authenticated <<<"$out") == false ]] || fail "TokenReview of a bogus token: $out"
out=$(review "$NODE_TOKEN" $SAR '{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"x","groups":["system:masters"],"resourceAttributes":{"verb":"get","resource":"nodes","subresource":"proxy","name":"e2e-node"}}}')
[[ $(jq -r .status.allowed <<<"$out") == true ]] || fail "SubjectAccessReview of a system:masters user: $out"
out=$(review "$NODE_TOKEN" $SAR '{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"x","groups":["g"],"resourceAttributes":{"verb":"get","resource":"nodes","subresource":"proxy","name":"e2e-node"}}}')
[[ $(jq -r .status.allowed <<<"$out") == false ]] || fail "SubjectAccessReview of a plain user: $out"
log "PASS in $(( ($(date +%s%N) - T0) / 1000000 )) ms"
