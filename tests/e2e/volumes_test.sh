#!/usr/bin/env bash
# End to end on real runc: configMap, secret and downwardAPI volumes from the manifest directory's
# ConfigMap/Secret manifests; a configMap mounted over a directory the image fills shows only its keys;
# edits propagate atomically (a reader loop in the container never sees a mix or a torn file); secrets are
# on tmpfs; env from configMapKeyRef/envFrom; fsGroup (group ownership and modes of the volumes, the
# container's supplementary groups); subPathExpr from the env; a subPath symlink escape is refused;
# nothing leaks.
source "$(dirname "$0")/lib.sh"
ensure_image
BASELINE=$(snapshot_resources)
start_nanolet

# A value of 2000 bytes made of one version token, so that a torn or mixed read shows.
val() { local v=$1; printf "%0.s$v" $(seq 1 $(( 2000 / ${#v} ))); }
write_config() {
  cat >"$MANIFESTS/objects.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  a: "$(val "$1")"
  b: "$(val "$1")"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: env-config}
data:
  GREETING: hello
  1bad: skipped
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
stringData:
  pw: hunter2
YAML
}
write_config v1

log "configMap over /var/www, secret, downwardAPI, env; a reader loop checks every version it sees"
cat >"$MANIFESTS/vols.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: vols
  labels: {app: vols}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {fsGroup: 4321}
  volumes:
  - {name: cfg, configMap: {name: app-config}}
  - {name: sec, secret: {secretName: app-secret, defaultMode: 0400}}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
  - {name: out, emptyDir: {}}
  containers:
  - name: reader
    image: nanolet.local/busybox:1.35
    env:
    - name: A_VAL
      valueFrom: {configMapKeyRef: {name: env-config, key: GREETING}}
    - name: PW
      valueFrom: {secretKeyRef: {name: app-secret, key: pw}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    envFrom:
    - configMapRef: {name: env-config}
    - {prefix: S_, secretRef: {name: app-secret}}
    volumeMounts:
    - {name: cfg, mountPath: /var/www}
    - {name: cfg, mountPath: /etc/cfg-a, subPath: a}
    - {name: sec, mountPath: /secret}
    - {name: info, mountPath: /info}
    - {name: out, mountPath: /out}
    - {name: out, mountPath: /per-pod, subPathExpr: "logs/$(POD_NAME)"}
    command:
    - sh
    - -c
    - |
      trap 'exit 0' TERM
      env > /out/env
      n=0
      while true; do
        # An open racing the removal of the version it resolved may fail (as upstream): retry then.
        if x=$(cat /var/www/a 2>/dev/null); then [ ${#x} -eq 2000 ] || echo "TORN ${#x}" >> /out/bad; fi
        d=$(readlink /var/www/..data)
        if a=$(cat /var/www/$d/a 2>/dev/null) && b=$(cat /var/www/$d/b 2>/dev/null); then
          [ "$a" = "$b" ] || echo "MIX" >> /out/bad
          n=$((n+1)); echo "$n ${a:0:2}" > /out/progress
        fi
      done
YAML
wait_for "vols Running" 30 pod_phase_is vols Running
uid=$(pod_field vols .metadata.uid)
reader=$(container_id vols reader)
vdir=$ROOT/pods/$uid/volumes
out=$vdir/kubernetes.io~empty-dir/out
wait_for "reader progress" 10 test -s "$out/progress"

[[ $(rexec "$reader" ls /var/www | tr '\n' ' ') == "a b " ]] || fail "/var/www shows $(rexec "$reader" ls /var/www)"
[[ $(rexec "$reader" cat /etc/cfg-a) == "$(val v1)" ]] || fail "subPath a of the configMap"
rexec "$reader" sh -c 'echo x > /var/www/new' 2>/dev/null && fail "configMap volume is writable"
[[ $(rexec "$reader" cat /secret/pw) == hunter2 ]] || fail "secret content"
[[ $(stat -f -c %T "$vdir/kubernetes.io~secret/sec") == tmpfs ]] || fail "secret volume not on tmpfs"
# defaultMode 0400 plus fsGroup's read-only mask 0440, as upstream SetVolumeOwnership.
[[ $(stat -L -c %a "$vdir/kubernetes.io~secret/sec/pw") == 440 ]] || fail "secret defaultMode with fsGroup"
owners=$(rexec "$reader" stat -L -c '%n %g %a' /out /secret/pw /var/www/a /var/www/..data | tr '\n' ' ')
[[ $owners == "/out 4321 2777 /secret/pw 4321 440 /var/www/a 4321 644 /var/www/..data 4321 2755 " ]] ||
  fail "fsGroup ownership seen in the container: $owners"
[[ " $(rexec "$reader" id -G) " == *" 4321 "* ]] || fail "fsGroup not among the groups: $(rexec "$reader" id -G)"
rexec "$reader" sh -c 'echo y > /per-pod/f' || fail "subPathExpr mount not writable"
[[ $(cat "$out/logs/vols-e2e-node/f") == y ]] || fail "subPathExpr logs/\$(POD_NAME) not bound to logs/vols-e2e-node"
[[ $(rexec "$reader" cat /info/labels) == 'app="vols"' ]] || fail "downwardAPI labels: $(rexec "$reader" cat /info/labels)"
grep -qx 'A_VAL=hello' "$out/env" || fail "env configMapKeyRef"
grep -qx 'PW=hunter2' "$out/env" || fail "env secretKeyRef"
grep -qx 'GREETING=hello' "$out/env" || fail "envFrom configMapRef"
grep -qx 'S_pw=hunter2' "$out/env" || fail "envFrom secretRef with prefix"
grep -q '^1bad=' "$out/env" && fail "an invalid envFrom key was not skipped"

log "configMap edits propagate atomically while the reader loops"
for v in v2 v3 v4 v5 v6 v7 v8 v9; do
  t0=$(date +%s%N)
  write_config "$v"
  wait_for "configMap $v visible" 15 bash -c "[[ \$(cut -d' ' -f2 '$out/progress') == $v ]]"
  log "$v visible in the container after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done
[[ ! -e $out/bad ]] || fail "the reader saw: $(sort "$out/bad" | uniq -c | tr '\n' ' ')"
wait_for "reader progress" 5 test -s "$out/progress"
log "reader iterations: $(cut -d' ' -f1 "$out/progress")"
(( $(ls -d "$vdir/kubernetes.io~configmap/cfg"/..20* | wc -l) == 1 )) || fail "old versions left behind"

log "missing ConfigMap: env -> CreateContainerConfigError; volume -> a clear message"
cat >"$MANIFESTS/missing.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: noenv}
spec:
  containers:
  - name: app
    image: nanolet.local/busybox:1.35
    command: [sleep, "3600"]
    env: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: novol}
spec:
  volumes: [{name: c, configMap: {name: nope}}]
  containers:
  - name: app
    image: nanolet.local/busybox:1.35
    command: [sleep, "3600"]
    volumeMounts: [{name: c, mountPath: /c}]
YAML
wait_reason() { [[ $(pod_field "$1" '.status.containerStatuses[0].state.waiting.reason') == "$2" ]]; }
wait_for "noenv CreateContainerConfigError" 20 wait_reason noenv CreateContainerConfigError
[[ $(pod_field noenv '.status.containerStatuses[0].state.waiting.message') == 'configmap "nope" not found' ]] ||
  fail "noenv message: $(pod_field noenv '.status.containerStatuses[0].state.waiting.message')"
wait_msg() { pod_field novol '.status.containerStatuses[0].state.waiting.message' | grep -q 'MountVolume.SetUp failed for volume "c" : configmap "nope" not found'; }
wait_for "novol FailedMount message" 20 wait_msg

log "subPath through a symlink to the host: refused, host file untouched"
echo original >"$E2E_TMP/hostfile"
cat >"$MANIFESTS/escape.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: escape}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: data, emptyDir: {}}]
  initContainers:
  - name: plant
    image: nanolet.local/busybox:1.35
    command: [sh, -c, "ln -s $E2E_TMP/hostfile /data/link && ln -s / /data/root"]
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: app
    image: nanolet.local/busybox:1.35
    command: [sh, -c, "echo pwned > /mnt/x; sleep 3600"]
    volumeMounts: [{name: data, mountPath: /mnt/x, subPath: link}]
YAML
wait_for "escape CreateContainerConfigError" 30 wait_reason escape CreateContainerConfigError
msg=$(pod_field escape '.status.containerStatuses[0].state.waiting.message')
[[ $msg == *"outside the volume"* ]] || fail "escape message: $msg"
[[ $(cat "$E2E_TMP/hostfile") == original ]] || fail "the host file was written"
log "escape refused: $msg"

log "teardown: tmpfs and subPath mounts go with the pods"
rm -f "$MANIFESTS"/*.yaml
for p in vols noenv novol escape; do wait_for "$p gone" 20 pod_absent "$p"; done
at_baseline() { [[ $(snapshot_resources) == "$BASELINE" ]]; }
wait_for "resources back to baseline" 10 at_baseline
after=$(snapshot_resources)
[[ $after == "$BASELINE" ]] || fail "leak: before=$BASELINE after=$after"
log "nanolet warnings and errors (by message):"
grep -E '^[EW][0-9]' "$E2E_TMP/nanolet.log" | sed -E 's/^([EW])[0-9]+ [0-9:.]+ "([^"]*)".*/\1 \2/' | sort | uniq -c >&2 || true
log "PASS"
