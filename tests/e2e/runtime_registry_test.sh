#!/usr/bin/env bash
# Pulls from a real registry: Debian's docker-registry (Distribution 2.8) on 127.0.0.1:<free port> with its own
# config and storage in the test's tmp dir; the test pushes the test image into it with skopeo. `nanolet images
# pull --insecure-registry` and a pod whose image is on that registry (imagePullPolicy Always) reaching Running.
# Bad input: an image that does not exist, a layer whose digest does not match (a blob corrupted in the
# registry's storage), the registry down. Each ends in ErrImagePull naming the cause, leaves the image store
# consistent (every blob matches its digest, `images list` works and lists only good images) and harms no pod.
# Registry faults through tests/fixtures/registry_faults/proxy.py in front of the registry (one repository per
# fault, all at once): garbage for a manifest, garbage for a layer, a layer download dropped halfway every time,
# connections closed unanswered: each pod's status names its cause, nothing partial is in the store, and all
# reach Running once the faults clear. A layer dropped once is resumed (Range) within one pull.
source "$(dirname "$0")/lib.sh"
"$NANOLET_SRC/scripts/build-test-image.sh" "$NANOLET_BUILD/images/busybox.oci.tar" >/dev/null
REG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$REG_PORT
REG_DIR=$E2E_TMP/registry
REG_PID=""
mkdir -p "$REG_DIR/storage"
cat >"$REG_DIR/config.yml" <<YAML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $REG_DIR/storage}
  delete: {enabled: true}
http:
  addr: $REG
YAML
start_registry() {
  docker-registry serve "$REG_DIR/config.yml" >>"$REG_DIR/registry.log" 2>&1 &
  REG_PID=$!
  wait_for "registry on $REG" 20 curl -sf "http://$REG/v2/"
}
stop_registry() { [[ -n $REG_PID ]] && { kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; }; REG_PID=""; }
# lib.sh's cleanup runs on EXIT; stop the registry first.
PROXY_PID=""
stop_proxy() { [[ -n $PROXY_PID ]] && { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }; PROXY_PID=""; }
# (set +e: under errexit `(exit $rc)` with rc != 0 would end the trap before cleanup ran.)
trap 'rc=$?; stop_proxy || true; stop_registry || true; set +e; (exit $rc); cleanup' EXIT
start_registry
nlc() { local group=$1; shift; "$NANOLET_BUILD/nanolet" "$group" --root-dir "$ROOT" "$@"; }  # nlc images VERB ...

# A one-layer image of our own (a file, no busybox) whose layer the test corrupts in the registry's storage.
mk_tiny_image() { # DIR
  local d=$1 w=$E2E_TMP/tiny-work
  mkdir -p "$d/blobs/sha256" "$w/root"
  echo "tiny" >"$w/root/hello"
  tar --create --directory="$w/root" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 . >"$w/layer.tar"
  local diff; diff=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
  gzip -n <"$w/layer.tar" >"$w/layer.tgz"
  local ld ls; ld=$(sha256sum "$w/layer.tgz" | cut -d' ' -f1); ls=$(stat -c %s "$w/layer.tgz")
  mv "$w/layer.tgz" "$d/blobs/sha256/$ld"
  jq -cn --arg diff "sha256:$diff" '{architecture:"amd64",os:"linux",config:{Cmd:["/hello"]},
    rootfs:{type:"layers",diff_ids:[$diff]}}' | tr -d '\n' >"$w/config.json"
  local cd cs; cd=$(sha256sum "$w/config.json" | cut -d' ' -f1); cs=$(stat -c %s "$w/config.json")
  mv "$w/config.json" "$d/blobs/sha256/$cd"
  jq -cn --arg cd "sha256:$cd" --argjson cs "$cs" --arg ld "sha256:$ld" --argjson ls "$ls" '{schemaVersion:2,
    mediaType:"application/vnd.oci.image.manifest.v1+json",
    config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$cd,size:$cs},
    layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$ld,size:$ls}]}' | tr -d '\n' >"$w/m.json"
  local md ms; md=$(sha256sum "$w/m.json" | cut -d' ' -f1); ms=$(stat -c %s "$w/m.json")
  mv "$w/m.json" "$d/blobs/sha256/$md"
  jq -cn --arg md "sha256:$md" --argjson ms "$ms" '{schemaVersion:2,manifests:[{
    mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$md,size:$ms,
    annotations:{"org.opencontainers.image.ref.name":"1"}}]}' >"$d/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  echo "$ld"
}
store_consistent() { # every blob's name is its sha256; `images list` works
  local f
  for f in "$ROOT"/images/blobs/sha256/*; do
    [[ -f $f ]] || continue
    [[ $(sha256sum "$f" | cut -d' ' -f1) == "$(basename "$f")" ]] || { log "blob $f does not match its name"; return 1; }
  done
  nlc images list >/dev/null
}

log "push the test image (OCI, and Docker v2s2) and a tiny image with skopeo"
skopeo copy -q --dest-tls-verify=false "oci-archive:$NANOLET_BUILD/images/busybox.oci.tar" "docker://$REG/busybox:test"
skopeo copy -q --dest-tls-verify=false --format v2s2 "oci-archive:$NANOLET_BUILD/images/busybox.oci.tar" \
  "docker://$REG/busybox:v2s2"
tiny_layer=$(mk_tiny_image "$E2E_TMP/tiny")
skopeo copy -q --dest-tls-verify=false "oci:$E2E_TMP/tiny:1" "docker://$REG/tiny:1"
FAULTS=(garbage-manifest garbage-blob drop reset drop-once)
for f in "${FAULTS[@]}"; do
  skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$REG/busybox:test" "docker://$REG/faults/$f:test"
done
blob=$REG_DIR/storage/docker/registry/v2/blobs/sha256/${tiny_layer:0:2}/$tiny_layer/data
[[ -f $blob ]] || fail "tiny layer not in the registry storage at $blob"
# Same size, different bytes: only the digest can tell.
printf 'XXXXXXXX' | dd of="$blob" bs=1 seek=20 conv=notrunc status=none

log "registry faults through the proxy: pods see the cause, the store stays clean, all recover"
RULES=$E2E_TMP/proxy-rules.json
jq -n '{"faults/garbage-manifest": "garbage-manifest", "faults/garbage-blob": "garbage-blob",
  "faults/drop": "drop", "faults/reset": "reset", "faults/drop-once": "drop-once"}' >"$RULES"
python3 "$NANOLET_SRC/tests/fixtures/registry_faults/proxy.py" --upstream "$REG" --rules "$RULES" \
  --port-file "$E2E_TMP/proxy.port" 2>>"$E2E_TMP/proxy.log" &
PROXY_PID=$!
wait_for "fault proxy" 10 test -s "$E2E_TMP/proxy.port"
PROXY=127.0.0.1:$(cat "$E2E_TMP/proxy.port")
start_nanolet --insecure-registry "$REG" --insecure-registry "$PROXY"
pod() { # NAME IMAGE
  cat >"$MANIFESTS/$1.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: "$2", imagePullPolicy: Always, command: ["sleep", "3600"]}
YAML
}
pull_failed() { # POD PATTERN: waiting reason ErrImagePull/ImagePullBackOff; message names the cause
  local r m
  r=$(pod_field "$1" '.status.containerStatuses[0].state.waiting.reason')
  m=$(pod_field "$1" '.status.containerStatuses[0].state.waiting.message')
  [[ $r == ErrImagePull || $r == ImagePullBackOff ]] && grep -qiE "$2" <<<"$m"
}
# The cause in the pod's status, or (while ImagePullBackOff's message is upstream's bare `Back-off pulling image
# "X"`, which follows ErrImagePull within milliseconds) the status in pull backoff and the cause in the log line
# the worker wrote for that pod.
failed_with_cause() { # POD PATTERN
  pull_failed "$1" "$2" && return 0
  local r; r=$(pod_field "$1" '.status.containerStatuses[0].state.waiting.reason')
  [[ $r == ErrImagePull || $r == ImagePullBackOff ]] &&
    grep '"image not ready"' "$E2E_TMP/nanolet.log" | grep "pod=\"default/$1-" | grep -qiE "$2"
}
no_temporaries() { ! ls -A "$ROOT/images/blobs/sha256" "$ROOT/images/layers" 2>/dev/null | grep -q '^\.tmp'; }
declare -A CAUSE=([garbage-manifest]="manifest is not JSON" [garbage-blob]="digest mismatch"
  [drop]="transfer closed|resumed download" [reset]="empty reply|connection reset|recv failure")
for f in "${!CAUSE[@]}"; do pod "f-$f" "$PROXY/faults/$f:test"; done
for f in "${!CAUSE[@]}"; do
  wait_for "f-$f: ErrImagePull naming the cause" 20 failed_with_cause "f-$f" "${CAUSE[$f]}"
  msg=$(grep '"image not ready"' "$E2E_TMP/nanolet.log" | grep "pod=\"default/f-$f-" | grep -iE "${CAUSE[$f]}" |
    tail -1 | sed 's/.*message=//' | cut -c1-200 || true)
  log "$f: status $(pod_field "f-$f" '.status.containerStatuses[0].state.waiting.reason'), cause in status:" \
    "$(pull_failed "f-$f" "${CAUSE[$f]}" && echo yes || echo no); error: $msg"
done
no_temporaries || fail "temporary blobs or layers left: $(ls -A "$ROOT/images/blobs/sha256" "$ROOT/images/layers")"
[[ -z $(ls -A "$ROOT/images/layers") ]] || fail "a layer was unpacked from a faulty pull: $(ls -A "$ROOT/images/layers")"
store_consistent || fail "store inconsistent after the faulty pulls"
nlc images list | grep -q faults/ && fail "an image of a faulty pull is listed"
# A layer dropped once is resumed where it stopped: the pull succeeds at its first attempt.
pod f-drop-once "$PROXY/faults/drop-once:test"
wait_for "f-drop-once Running (resumed)" 20 pod_phase_is f-drop-once Running
grep -q "fault drop: GET /v2/faults/drop-once/blobs/" "$E2E_TMP/proxy.log" || fail "the proxy dropped no drop-once layer"
grep '"image not ready"' "$E2E_TMP/nanolet.log" | grep -q 'pod="default/f-drop-once-' &&
  fail "f-drop-once needed more than one pull: the dropped layer was not resumed"
log "faults cleared"
echo '{}' >"$RULES"
t_cleared=$(date +%s%N)
# While the fault pods wait out their image pull backoff (10 s, as upstream): CLI pulls and pods straight from
# the registry.
log "nanolet images pull --insecure-registry"
t0=$(date +%s%N)
nlc images pull "$REG/busybox:test" --insecure-registry "$REG" >"$E2E_TMP/pull.out" 2>&1 || { cat "$E2E_TMP/pull.out" >&2; fail "pull"; }
log "pull took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
nlc images pull "$REG/busybox:v2s2" --insecure-registry "$REG" >"$E2E_TMP/pull.out" 2>&1 || { cat "$E2E_TMP/pull.out" >&2; fail "pull v2s2"; }
nlc images list | grep -q "$REG/busybox" || fail "pulled image not listed"
# Without --insecure-registry the pull goes to HTTPS and fails, naming the registry.
if nlc images pull "$REG/busybox:test" >"$E2E_TMP/pull.out" 2>&1; then fail "plain HTTP used without --insecure-registry"; fi
log "CLI pull without --insecure-registry: $(tail -1 "$E2E_TMP/pull.out")"

log "CLI pull: missing image, corrupt layer"
if nlc images pull "$REG/busybox:nope" --insecure-registry "$REG" >"$E2E_TMP/pull.out" 2>&1; then fail "pull of a missing tag succeeded"; fi
grep -qiE "not found|unknown|404" "$E2E_TMP/pull.out" || { cat "$E2E_TMP/pull.out" >&2; fail "missing-image error does not name the cause"; }
log "missing: $(tail -1 "$E2E_TMP/pull.out")"
if nlc images pull "$REG/tiny:1" --insecure-registry "$REG" >"$E2E_TMP/pull.out" 2>&1; then fail "pull of a corrupt layer succeeded"; fi
grep -qi "digest" "$E2E_TMP/pull.out" || { cat "$E2E_TMP/pull.out" >&2; fail "corrupt-layer error does not name the digest"; }
log "corrupt: $(tail -1 "$E2E_TMP/pull.out")"
[[ ! -e $ROOT/images/blobs/sha256/$tiny_layer ]] || fail "the corrupt layer is in the store"
store_consistent || fail "store inconsistent after bad pulls"
nlc images list | grep -q tiny && fail "the corrupt image is listed"

log "pods: imagePullPolicy Always from the registry; bad images end in ErrImagePull"
pod reg "$REG/busybox:test"
wait_for "reg Running" 30 pod_phase_is reg Running
reg_id=$(container_id reg c)
pull_failed_reason() { [[ $(pod_field "$1" '.status.containerStatuses[0].state.waiting.reason') =~ ^(ErrImagePull|ImagePullBackOff)$ ]]; }
pod missing "$REG/busybox:nope"
wait_for "missing: ErrImagePull" 20 pull_failed_reason missing
wait_for "missing: message names the cause" 20 failed_with_cause missing "not found|unknown|404"
log "missing: $(pod_field missing '.status.containerStatuses[0].state.waiting.message')"
pod corrupt "$REG/tiny:1"
wait_for "corrupt: ErrImagePull" 20 pull_failed_reason corrupt
wait_for "corrupt: message names the digest" 20 failed_with_cause corrupt "digest"
log "corrupt: $(pod_field corrupt '.status.containerStatuses[0].state.waiting.message')"

for f in "${!CAUSE[@]}"; do wait_for "f-$f Running after the fault cleared" 30 pod_phase_is "f-$f" Running; done
log "all recovered $(( ($(date +%s%N) - t_cleared) / 1000000 )) ms after the faults cleared"
store_consistent && no_temporaries || fail "store inconsistent after recovery"
rm -f "$MANIFESTS"/f-*.yaml

log "registry down"
stop_registry
if nlc images pull "$REG/busybox:test" --insecure-registry "$REG" >"$E2E_TMP/pull.out" 2>&1; then fail "pull with the registry down succeeded"; fi
grep -qiE "connect|refused" "$E2E_TMP/pull.out" || { cat "$E2E_TMP/pull.out" >&2; fail "registry-down error does not name the cause"; }
log "down: $(tail -1 "$E2E_TMP/pull.out")"
pod down "$REG/busybox:test"
wait_for "down: ErrImagePull" 20 pull_failed_reason down
wait_for "down: message names the cause" 20 failed_with_cause down "connect|refused"
log "down: $(pod_field down '.status.containerStatuses[0].state.waiting.message')"

store_consistent || fail "store inconsistent"
[[ $(container_id reg c) == "$reg_id" ]] && pod_phase_is reg Running || fail "reg was disturbed by the bad pulls"
kill -0 "$NANOLET_PID" || fail "nanolet died"

rm -f "$MANIFESTS"/*.yaml
for p in reg missing corrupt down f-garbage-manifest f-garbage-blob f-drop f-reset f-drop-once; do
  wait_for "$p gone" 30 pod_absent "$p"
done
[[ $(runc --root "$RUNC_ROOT" list -q | wc -l) == 0 ]] || fail "runc containers left"
stop_nanolet
log "PASS"
