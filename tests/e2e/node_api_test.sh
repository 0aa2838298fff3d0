#!/usr/bin/env bash
# End to end: the node API with clients nobody here wrote. kubectl against the read-only port (get pods,
# -o wide, describe, logs) and curl against the authenticated HTTPS port (self-signed certificate under
# ROOT/pki, bearer tokens from --token-auth-file): 401 without or with a wrong token, 403 for a user outside
# system:masters, 200 for an admin; /containerLogs with tailLines, and a follow; /runningpods/; metrics.
# Budget: about 15 s.
source "$(dirname "$0")/lib.sh"
ensure_image
SECURE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SAPI=https://127.0.0.1:$SECURE_PORT
cat >"$E2E_TMP/tokens.csv" <<CSV
admin-token-e2e,admin,uid-admin,"system:masters"
viewer-token-e2e,viewer,uid-viewer,"dev,qa"
CSV
BASELINE=$(snapshot_resources)
start_nanolet --token-auth-file "$E2E_TMP/tokens.csv"
wait_for "authenticated port up" 10 bash -c "curl -sk -o /dev/null $SAPI/healthz"

cat >"$MANIFESTS/talker.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: talker
  labels: {app: talker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: nanolet.local/busybox:1.35
    # Ends at once on SIGTERM (PID 1 without a handler would wait out the grace).
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do echo line-\$i; i=\$((i+1)); sleep 0.2; done"]
YAML
wait_for "talker Running" 30 pod_phase_is talker Running
POD=talker-e2e-node
KC=(kubectl --server "$API" --cache-dir "$E2E_TMP/kube-cache" --request-timeout 10s)

log "kubectl against the read-only port"
out=$("${KC[@]}" get pods -A)
echo "$out" | grep -q '^NAMESPACE *NAME *READY *STATUS *RESTARTS *AGE' || fail "get pods -A header: $out"
echo "$out" | grep -Eq "^default +$POD +1/1 +Running +0 " || fail "get pods -A row: $out"
out=$("${KC[@]}" get pods -o wide)
echo "$out" | grep -Eq "^$POD .* 10\.231\.$E2E_ID\.[0-9]+ +e2e-node" || fail "get pods -o wide: $out"
out=$("${KC[@]}" describe pod "$POD")
echo "$out" | grep -q "^Name: *$POD" || fail "describe: $out"
echo "$out" | grep -q "^Status: *Running" || fail "describe status: $out"
wait_for "a few log lines" 10 bash -c "[[ \$(${KC[*]} logs $POD | wc -l) -ge 3 ]]"
"${KC[@]}" logs "$POD" --tail 1 | grep -Eq '^line-[0-9]+$' || fail "kubectl logs --tail 1"

log "curl against the authenticated port"
code() { curl -sk -o /dev/null -w '%{http_code}' "$@"; }
[[ $(code "$SAPI/pods") == 401 ]] || fail "no token: want 401"
[[ $(code -H 'Authorization: Bearer wrong' "$SAPI/pods") == 401 ]] || fail "wrong token: want 401"
[[ $(code -H 'Authorization: Bearer viewer-token-e2e' "$SAPI/pods") == 403 ]] || fail "viewer: want 403"
ADMIN=(-sk -H 'Authorization: Bearer admin-token-e2e')
[[ $(curl "${ADMIN[@]}" "$SAPI/healthz") == ok ]] || fail "admin /healthz"
[[ $(curl "${ADMIN[@]}" "$SAPI/pods" | jq -r ".items[] | select(.metadata.name==\"$POD\") | .status.phase") == Running ]] ||
  fail "admin /pods"
[[ $(curl "${ADMIN[@]}" "$SAPI/runningpods/" | jq -r '.items[].metadata.name') == "$POD" ]] || fail "/runningpods/"
uid=$(pod_field talker .metadata.uid)
logs=$(curl "${ADMIN[@]}" "$SAPI/containerLogs/default/$POD/app?tailLines=2")
[[ $(echo "$logs" | grep -c '^line-') == 2 ]] || fail "containerLogs tailLines=2: $logs"
curl "${ADMIN[@]}" "$SAPI/containerLogs/default/$POD/app?tailLines=1&timestamps=true" |
  grep -Eq '^20[0-9-]+T[0-9:.]+Z line-' || fail "containerLogs timestamps"
[[ $(code "${ADMIN[@]:1}" "$SAPI/containerLogs/default/$POD/..%2f..%2f..%2fetc") =~ ^40[04]$ ]] || fail "traversal"
[[ $(code "${ADMIN[@]:1}" "$SAPI/containerLogs/default/ghost/app") == 404 ]] || fail "unknown pod: want 404"
# A follow sees new lines as they are written (the pod prints 5 a second): 4 within 2 s (grep ends the follow
# at the 4th).
n=$(timeout 2 curl "${ADMIN[@]}" -N "$SAPI/containerLogs/default/$POD/app?follow=true&tailLines=0" | grep -m 4 -c '^line-' || true)
(( n >= 4 )) || fail "follow: only $n lines in 2 s"
[[ -f $ROOT/pki/kubelet.crt && -f $ROOT/pki/kubelet.key ]] || fail "self-signed certificate not under ROOT/pki"
# The server's certificate is the one under ROOT/pki.
curl -s --cacert "$ROOT/pki/kubelet.crt" -H 'Authorization: Bearer admin-token-e2e' "$SAPI/healthz" | grep -q ok ||
  fail "certificate under ROOT/pki does not verify the port"

log "metrics"
m=$(curl -sf "$API/metrics")
for name in kubelet_running_pods kubelet_running_containers kubelet_pod_start_duration_seconds_bucket \
  'kubelet_runtime_operations_total{operation_type="run_podsandbox"}' process_resident_memory_bytes \
  process_open_fds process_cpu_seconds_total process_start_time_seconds; do
  grep -qF "$name" <<<"$m" || fail "metric $name missing"
done
grep -q '^kubelet_running_pods 1$' <<<"$m" || fail "kubelet_running_pods != 1"
grep -q '^kubelet_pod_start_duration_seconds_count 1$' <<<"$m" || fail "pod start not observed once"

rm "$MANIFESTS/talker.yaml"
wait_for "talker gone" 20 pod_absent talker
stop_nanolet
[[ "$(snapshot_resources)" == "$BASELINE" ]] || fail "resources leaked: $(diff <(echo "$BASELINE") <(snapshot_resources))"
log "PASS"
