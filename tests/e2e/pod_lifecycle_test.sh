#!/usr/bin/env bash
# End to end on real runc and CNI: a manifest dropped in the directory becomes a Running pod in /pods whose
# sandbox alone holds the IP, whose containers share its namespaces; graceful termination; edit, delete,
# broken manifests; and nothing leaks.
source "$(dirname "$0")/lib.sh"
ensure_image
BASELINE=$(snapshot_resources)
start_nanolet

log "two-container pod: shared namespaces, one IP"
cat >"$MANIFESTS/web.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 2
  # Both containers end at once on SIGTERM (as PID 1 without a handler they would wait out the grace; the
  # term pod below checks that kill).
  containers:
  - name: httpd
    image: nanolet.local/busybox:1.35
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /var/www & wait"]
  - name: client
    image: nanolet.local/busybox:1.35
    env:
    - name: MY_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    # The fast path starts the sandbox before CNI ADD ends: the process must still start with eth0 up, the pod IP
    # in /etc/hosts, and (env from status.podIP) that IP in its env.
    command:
    - sh
    - -c
    - 'echo client up; echo "ip=\$(MY_IP)"; ip -4 -o addr show eth0 | grep -q "inet \$(MY_IP)/" && echo eth0 up at start; grep -q "^\$(MY_IP)" /etc/hosts && echo hosts has ip; trap "exit 0" TERM; sleep 3600 & wait'
YAML
t0=$(date +%s%N)
wait_for "web Running" 30 pod_phase_is web Running
wait_for "web containers ready" 10 all_ready web
log "manifest -> Running in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ip=$(pod_field web .status.podIP)
[[ $ip == 10.231.$E2E_ID.* ]] || fail "pod IP $ip not in the test subnet"
[[ $(pod_field web '.metadata.annotations["kubernetes.io/config.source"]') == file ]] || fail "config.source"
[[ $(pod_field web .metadata.creationTimestamp) == 20* ]] || fail "no creationTimestamp (kubectl AGE)"
httpd=$(container_id web httpd); client=$(container_id web client)
[[ -n $httpd && -n $client ]] || fail "container IDs missing"
p1=$(container_pid "$httpd"); p2=$(container_pid "$client")
for ns in net ipc uts; do
  [[ "$(readlink /proc/$p1/ns/$ns)" == "$(readlink /proc/$p2/ns/$ns)" ]] || fail "containers do not share $ns"
done
[[ "$(readlink /proc/$p1/ns/net)" != "$(readlink /proc/self/ns/net)" ]] || fail "pod shares the host netns"
# Only eth0 of the sandbox carries the IP, and both containers see it.
rexec "$client" ip -4 addr show eth0 | grep -q "$ip" || fail "client does not see the pod IP"
out=$(rexec "$client" wget -q -O - http://127.0.0.1:8080/)
[[ -n $out ]] || fail "client could not reach httpd on 127.0.0.1"
[[ $(rexec "$client" hostname) == web-e2e-node ]] || fail "hostname is $(rexec "$client" hostname)"
curl -sf "http://$ip:8080/" >/dev/null || fail "pod IP not reachable from the node"
grep -q "client up" "$LOGS"/default_web-e2e-node_*/client/0.log || fail "CRI log missing"
grep -qE '^[0-9T:.-]+Z stdout F client up$' "$LOGS"/default_web-e2e-node_*/client/0.log || fail "CRI log format"
wait_for "client's start-up lines" 5 grep -q "hosts has ip" "$LOGS"/default_web-e2e-node_*/client/0.log
for want in "ip=$ip" "eth0 up at start" "hosts has ip"; do
  grep -q "stdout F $want\$" "$LOGS"/default_web-e2e-node_*/client/0.log || fail "client log lacks '$want'"
done

log "graceful termination: SIGTERM handler runs; SIGTERM ignored is killed at the deadline"
mkdir -p "$E2E_TMP/marker"
cat >"$MANIFESTS/term.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: term
spec:
  terminationGracePeriodSeconds: 3
  volumes:
  - name: out
    hostPath: {path: $E2E_TMP/marker, type: Directory}
  containers:
  - name: polite
    image: nanolet.local/busybox:1.35
    command: ["sh", "-c", "trap 'echo bye > /out/polite; exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{name: out, mountPath: /out}]
  - name: stubborn
    image: nanolet.local/busybox:1.35
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]
YAML
wait_for "term Running" 30 pod_phase_is term Running
t0=$(date +%s%N)
rm "$MANIFESTS/term.yaml"
wait_for "term gone" 30 pod_absent term
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
log "termination took ${elapsed} ms (grace 3 s)"
[[ -f $E2E_TMP/marker/polite ]] || fail "the SIGTERM handler did not run"
(( elapsed >= 2500 && elapsed <= 4500 )) || fail "stubborn container killed after ${elapsed} ms, want ~3000"

log "editing a manifest replaces the pod"
old_uid=$(pod_field web .metadata.uid)
sed -i 's/client up/client up again/' "$MANIFESTS/web.yaml"
new_uid_is_different() { local u; u=$(pod_field web .metadata.uid); [[ -n $u && $u != "$old_uid" ]]; }
wait_for "web replaced" 30 new_uid_is_different
wait_for "new web Running" 30 pod_phase_is web Running
[[ $(pods_json | jq '[.items[] | select(.metadata.name=="web-e2e-node")] | length') == 1 ]] || fail "two web pods"

log "a broken manifest harms no other pod"
web_httpd=$(container_id web httpd)
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n  containers:\n  - name: x\n    ports:\n    - containerPort: 70000\n' >"$MANIFESTS/broken.yaml"
cat >"$MANIFESTS/once.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: once
spec:
  restartPolicy: Never
  containers:
  - name: job
    image: nanolet.local/busybox:1.35
    command: ["sh", "-c", "echo done; exit 0"]
YAML
wait_for "once Succeeded" 30 pod_phase_is once Succeeded
pod_absent broken || fail "the broken manifest became a pod"
grep -q "broken.yaml" "$E2E_TMP/nanolet.log" || fail "no log line names the broken file"
[[ $(container_id web httpd) == "$web_httpd" ]] || fail "web was restarted"
[[ $(pod_field once '.status.containerStatuses[0].state.terminated.reason') == Completed ]] || fail "once reason"

log "deleting manifests stops the pods; nothing leaks"
rm -f "$MANIFESTS"/*.yaml
wait_for "web gone" 30 pod_absent web
wait_for "once gone" 30 pod_absent once
expect_no_leaks "$BASELINE"
stop_nanolet
