#!/usr/bin/env bash
# Bad runtime environment: runc missing (--container-runtime-binary /nonexistent), runc not executable, a CNI
# config naming a plugin that exits 1 without reading its input, and one naming a plugin absent from
# --cni-bin-dir. nanolet keeps running and serving (a hostNetwork pod, which needs no CNI, runs beside the
# broken network), the pod's status and the log name the cause, and nothing is left half-created.
source "$(dirname "$0")/lib.sh"
ensure_image
BASELINE=$(snapshot_resources)
pod() { # NAME [hostNetwork]
  cat >"$MANIFESTS/$1.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 0
  hostNetwork: ${2:-false}
  containers:
  - {name: c, image: nanolet.local/busybox:1.35, command: ["sleep", "3600"]}
YAML
}
no_leaks() { [[ $(snapshot_resources) == "$BASELINE" ]]; }
logged() { grep -qE "$1" "$E2E_TMP/nanolet.log"; }
# The waiting container's message in the pod status matches PATTERN.
status_names() { pod_field "$1" '.status.containerStatuses[0].state.waiting.message' | grep -qE "$2"; }
serving() { curl -sf "$API/healthz" >/dev/null && kill -0 "$NANOLET_PID"; }

bad_runc() { # NAME RUNC-PATH PATTERN
  log "runc $1"
  start_nanolet --container-runtime-binary "$2"
  pod "no$1"
  wait_for "an error naming the runc path in the log" 20 logged "failed to create pod sandbox.*$3"
  wait_for "the cause in no$1's status" 20 status_names "no$1" "$3"
  log "no$1: $(pod_field "no$1" '.status.containerStatuses[0].state.waiting.message')"
  pod_phase_is "no$1" Pending || fail "no$1 is $(pod_field "no$1" .status.phase)"
  serving || fail "nanolet is not serving"
  no_leaks || { diff <(echo "$BASELINE") <(snapshot_resources) >&2; fail "runc $1 left something"; }
  rm -f "$MANIFESTS/no$1.yaml"
  wait_for "no$1 gone" 20 pod_absent "no$1"
  stop_nanolet
}
bad_runc missing /nonexistent/runc "/nonexistent/runc"
printf '#!/bin/sh\nexit 0\n' >"$E2E_TMP/runc-noexec"
chmod 0644 "$E2E_TMP/runc-noexec"
bad_runc noexec "$E2E_TMP/runc-noexec" "runc-noexec.*([Pp]ermission denied|not executable)"

bad_cni() { # NAME PLUGIN-TYPE PATTERN
  log "CNI: $1"
  rm -rf "$E2E_TMP/net.d"; mkdir -p "$E2E_TMP/net.d"
  echo "{\"cniVersion\":\"1.0.0\",\"name\":\"badnet\",\"plugins\":[{\"type\":\"$2\"}]}" >"$E2E_TMP/net.d/10-bad.conflist"
  start_nanolet --cni-conf-dir "$E2E_TMP/net.d" --cni-bin-dir "$E2E_TMP/cnibin,/usr/lib/cni"
  pod "bad$1"
  pod "host$1" true
  wait_for "an error naming the plugin in the log" 20 logged "$3"
  wait_for "the cause in bad$1's status" 20 status_names "bad$1" "$3"
  log "bad$1: $(pod_field "bad$1" '.status.containerStatuses[0].state.waiting.message')"
  wait_for "host$1 (hostNetwork) Running beside it" 20 pod_phase_is "host$1" Running
  serving || fail "nanolet died on CNI $1"
  pod_phase_is "bad$1" Pending || fail "bad$1 is $(pod_field "bad$1" .status.phase)"
  rm -f "$MANIFESTS/bad$1.yaml" "$MANIFESTS/host$1.yaml"
  wait_for "bad$1 gone" 20 pod_absent "bad$1"
  wait_for "host$1 gone" 20 pod_absent "host$1"
  wait_for "nothing half-created" 10 no_leaks
  [[ -z $(ls "$ROOT/cni/cache/results" 2>/dev/null) ]] || fail "CNI cache entries left: $(ls "$ROOT/cni/cache/results")"
  stop_nanolet
}
mkdir -p "$E2E_TMP/cnibin"
# Exits at once with a CNI error, never reading the config nanolet writes to its stdin.
printf '#!/bin/sh\necho "{\\"cniVersion\\":\\"1.0.0\\",\\"code\\":11,\\"msg\\":\\"e2e plugin says no\\"}"\nexit 1\n' \
  >"$E2E_TMP/cnibin/e2e-failing-plugin"
chmod +x "$E2E_TMP/cnibin/e2e-failing-plugin"
bad_cni failing e2e-failing-plugin 'e2e-failing-plugin.*e2e plugin says no'
bad_cni absent e2e-absent-plugin 'e2e-absent-plugin'
log "PASS"
