#!/usr/bin/env bash
# Fault injection, one fault at a time on one nanolet, each followed by its recovery:
#   runc   a wrapper (--container-runtime-binary) failing 40% and hanging 10% of create/start/run/delete
#          calls (a hang lasts until the fault clears, then the call fails);
#   cni    a chained plugin after bridge that fails every ADD (--cni-conf-dir, --cni-bin-dir);
#   disk   --root-dir on a small tmpfs (size=) filled up by a file;
#   reg-*  pulls (imagePullPolicy Always) through tests/fixtures/registry_faults/proxy.py in front of a real
#          docker-registry on 127.0.0.1, each fault on its own repository holding busybox plus a layer of
#          its own (so no earlier pull has it): garbage manifest (gman), garbage layer (gblob), a layer
#          dropped halfway every time (drop: resumed 3 times, then an error), a stalled layer (stall: cut by
#          the 30 s low-speed limit, 4 times), connections closed unanswered (reset), the registry down
#          (down: the proxy killed, then started again on its port).
# For each: new pods are created under the fault; at least one must report the cause in its status
# (the injected error text, or "no space", anywhere in .status; the table also says whether nanolet's log
# named it); after the fault clears every pod must be Running within 330 s (retry with backoff, capped at
# 5 min as upstream's). At the end all pods are deleted and the resources
# (snapshot_resources: netns, veths, IPAM, mounts, cgroups, runc, monitors, records) must be back to
# the start. Prints a table; merges {faults: {...}} into bench/results.json; exit 1 on a failure.
# Usage: bench/faults.sh BUILD_DIR [PODS_PER_FAULT (default 4)]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); N=${2:-4}
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
source "$NANOLET_SRC/tests/e2e/lib.sh"
no_pods() { [[ $(pods_json | jq '.items | length') == 0 ]]; }
FAULTS=$E2E_TMP/faults; mkdir -p "$FAULTS/bin" "$FAULTS/conf"
# The root on a small tmpfs (the image needs a few MiB), filled later by $ROOT/filler.
mount -t tmpfs -o size=48m nanolet-faults "$ROOT"
ensure_image
REAL_RUNC=$(command -v runc)

# The registry and the fault proxy in front of it (stopped by PID on exit, before lib.sh's cleanup).
REG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$REG_PORT; REG_DIR=$E2E_TMP/registry; REG_PID=""; PROXY_PID=""
mkdir -p "$REG_DIR/storage"
printf 'version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %s}\nhttp:\n  addr: %s\n' \
  "$REG_DIR/storage" "$REG" >"$REG_DIR/config.yml"
docker-registry serve "$REG_DIR/config.yml" >>"$REG_DIR/registry.log" 2>&1 &
REG_PID=$!
RULES=$FAULTS/proxy-rules.json; echo '{}' >"$RULES"
start_proxy() {  # [PORT]
  rm -f "$FAULTS/proxy.port"
  python3 "$NANOLET_SRC/tests/fixtures/registry_faults/proxy.py" --upstream "$REG" --rules "$RULES" \
    --port-file "$FAULTS/proxy.port" --port "${1:-0}" 2>>"$FAULTS/proxy.log" &
  PROXY_PID=$!
  wait_for "fault proxy" 10 test -s "$FAULTS/proxy.port"
}
stop_proxy() { [[ -n $PROXY_PID ]] && { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }; PROXY_PID=""; }
# (set +e: under errexit `(exit $rc)` with rc != 0 would end the trap before cleanup ran.)
trap 'rc=$?; stop_proxy || true; [[ -n $REG_PID ]] && { kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; }
  set +e; (exit $rc); cleanup' EXIT
trap 'log "SIGTERM: cleaning up"; exit 143' TERM  # the EXIT trap (cleanup) runs on a TERM too
wait_for "registry on $REG" 20 curl -sf "http://$REG/v2/"
start_proxy
PROXY=127.0.0.1:$(cat "$FAULTS/proxy.port")
# busybox plus a layer of 256 KiB of random bytes of its own, pushed as faults/NAME:test.
push_unique() {  # NAME
  local d=$FAULTS/img-$1 w=$FAULTS/img-$1.work
  mkdir -p "$d" "$w/root"
  tar -xf "$NANOLET_BUILD/images/busybox.oci.tar" -C "$d"
  head -c 262144 /dev/urandom >"$w/root/unique-$1"
  tar --create --directory="$w/root" --owner=0 --group=0 --numeric-owner . >"$w/layer.tar"
  local diff ld ls; diff=sha256:$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
  gzip -n -1 <"$w/layer.tar" >"$w/layer.tgz"
  ld=$(sha256sum "$w/layer.tgz" | cut -d' ' -f1); ls=$(stat -c %s "$w/layer.tgz")
  mv "$w/layer.tgz" "$d/blobs/sha256/$ld"
  local md; md=$(jq -r '.manifests[0].digest' "$d/index.json" | cut -d: -f2)
  local cd; cd=$(jq -r '.config.digest' "$d/blobs/sha256/$md" | cut -d: -f2)
  jq -c --arg diff "$diff" '.rootfs.diff_ids += [$diff]' "$d/blobs/sha256/$cd" | tr -d '\n' >"$w/config.json"
  local ncd ncs; ncd=$(sha256sum "$w/config.json" | cut -d' ' -f1); ncs=$(stat -c %s "$w/config.json")
  mv "$w/config.json" "$d/blobs/sha256/$ncd"
  jq -c --arg cd "sha256:$ncd" --argjson cs "$ncs" --arg ld "sha256:$ld" --argjson ls "$ls" \
    '.config.digest = $cd | .config.size = $cs | .layers += [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
     digest: $ld, size: $ls}]' "$d/blobs/sha256/$md" | tr -d '\n' >"$w/m.json"
  local nmd nms; nmd=$(sha256sum "$w/m.json" | cut -d' ' -f1); nms=$(stat -c %s "$w/m.json")
  mv "$w/m.json" "$d/blobs/sha256/$nmd"
  jq -n --arg md "sha256:$nmd" --argjson ms "$nms" '{schemaVersion: 2, manifests: [{mediaType:
    "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
    annotations: {"org.opencontainers.image.ref.name": "test"}}]}' >"$d/index.json"
  skopeo copy -q --dest-tls-verify=false "oci:$d:test" "docker://$REG/faults/$1:test"
  rm -rf "$w"
}
REG_FAULTS=(gman gblob drop stall reset down)
for f in "${REG_FAULTS[@]}"; do push_unique "$f"; done

# The flaky runc. Mode file: ok | flaky.
echo ok >"$FAULTS/runc.mode"
cat >"$FAULTS/runc-flaky" <<SH
#!/usr/bin/env bash
# Fault-injecting runc: in mode "flaky" fails or hangs create/start/run/delete at random.
mode=\$(cat "$FAULTS/runc.mode" 2>/dev/null || echo ok)
sub=""; skip=0
for a in "\$@"; do
  if (( skip )); then skip=0; continue; fi
  case \$a in --root|--log|--log-format|--criu) skip=1 ;; -*) ;; *) sub=\$a; break ;; esac
done
if [[ \$mode == flaky ]]; then
  case \$sub in create|start|run|delete)
    r=\$(( RANDOM % 10 ))
    if (( r < 4 )); then echo "injected runc fault: \$sub failed" >&2; exit 1; fi
    if (( r == 4 )); then
      echo "\$sub" >>"$FAULTS/runc.hangs"
      while [[ \$(cat "$FAULTS/runc.mode") != ok ]]; do sleep 0.2; done
      echo "injected runc fault: \$sub hung" >&2; exit 1
    fi ;;
  esac
fi
exec "$REAL_RUNC" "\$@"
SH
chmod +x "$FAULTS/runc-flaky"

# The failing CNI plugin, chained after bridge: passes prevResult through unless the mode file says fail.
echo ok >"$FAULTS/cni.mode"
for p in /usr/lib/cni/*; do ln -s "$p" "$FAULTS/bin/"; done
cat >"$FAULTS/bin/flaky" <<SH
#!/usr/bin/env bash
conf=\$(cat)
case \$CNI_COMMAND in
  ADD)
    if [[ \$(cat "$FAULTS/cni.mode") == fail ]]; then
      echo '{"cniVersion":"1.0.0","code":11,"msg":"injected CNI fault","details":"flaky plugin"}'; exit 1
    fi
    jq -c '.prevResult' <<<"\$conf" ;;
  VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}' ;;
  *) ;;
esac
SH
chmod +x "$FAULTS/bin/flaky"
jq -n --arg br "$NANOLET_CNI_BRIDGE" --arg sn "$NANOLET_CNI_SUBNET" --arg dd "$ROOT/cni/networks" '{
  cniVersion: "1.0.0", name: "faults",
  plugins: [{type: "bridge", bridge: $br, isGateway: true, ipMasq: false, hairpinMode: true,
             ipam: {type: "host-local", ranges: [[{subnet: $sn}]], routes: [{dst: "0.0.0.0/0"}], dataDir: $dd}},
            {type: "flaky"}]}' >"$FAULTS/conf/10-faults.conflist"

BASELINE=$(snapshot_resources)
start_nanolet --container-runtime-binary "$FAULTS/runc-flaky" --cni-conf-dir "$FAULTS/conf" \
  --cni-bin-dir "$FAULTS/bin" --insecure-registry "$PROXY"

make_pods() {  # PREFIX [IMAGE]: N pods
  local image=${2:-nanolet.local/busybox:1.35} policy=IfNotPresent
  [[ $image == nanolet.local/* ]] || policy=Always
  for i in $(seq "$N"); do
    cat >"$MANIFESTS/$1$i.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1$i}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: app, image: $image, imagePullPolicy: $policy, command: ["sleep", "36000"]}
YAML
  done
}
# The pods PREFIX* whose status mentions PATTERN (case-insensitive).
cause_seen() { pods_json | jq -e --arg p "$1" --arg re "$2" \
  '[.items[] | select(.metadata.name | startswith($p)) | select(.status | tostring | test($re; "i"))] | length > 0'; }
all_running() { pods_json | jq -e '(.items | length) as $n | [.items[] | select(.status.phase == "Running" and
  ([.status.containerStatuses[]? | .state.running != null] | all))] | length == $n'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

declare -A RES; status=0
# The cause in nanolet's log lines for the pods PREFIX*.
cause_logged() { grep -iE "$2" "$E2E_TMP/nanolet.log" | grep -q "pod=\"default/$1"; }
fault() {  # NAME PREFIX PATTERN ON OFF [IMAGE [CAUSE_WAIT_S]]: inject, create pods, wait for the cause, clear, wait Running
  local name=$1 prefix=$2 re=$3 on=$4 off=$5 image=${6:-} cwait=${7:-30} t0 seen=no msg
  eval "$on"
  make_pods "$prefix" $image
  t0=$(now_ms)
  while (( $(now_ms) - t0 < cwait * 1000 )); do
    if cause_seen "$prefix" "$re" >/dev/null 2>&1; then seen=yes; break; fi
    # Pull errors: ImagePullBackOff's message (upstream's bare "Back-off pulling image") follows
    # ErrImagePull's within milliseconds; once the log names the cause, give the status 2 s more.
    if [[ -n $image ]] && cause_logged "$prefix" "$re"; then
      local t1; t1=$(now_ms)
      while (( $(now_ms) - t1 < 2000 )); do cause_seen "$prefix" "$re" >/dev/null 2>&1 && { seen=yes; break; }; sleep 0.1; done
      break
    fi
    sleep 0.2
  done
  msg=$(pods_json | jq -r --arg p "$prefix" --arg re "$re" '[.items[] | select(.metadata.name | startswith($p))
    | .status | .. | strings | select(test($re; "i"))][0] // "(none)"' | cut -c1-110)
  local in_log=no
  cause_logged "$prefix" "$re" && in_log=yes
  if [[ -n $image && $msg == "(none)" ]]; then  # the log's error for the table
    msg=$(grep '"image not ready"' "$E2E_TMP/nanolet.log" | grep "pod=\"default/$prefix" | grep -iE "$re" | tail -1 |
      sed 's/.*message=//' | cut -c1-110 || true)
  fi
  [[ $seen == yes || ( -n $image && $in_log == yes ) ]] || status=1
  eval "$off"
  t0=$(now_ms); local rec="timeout"
  while (( $(now_ms) - t0 < 330000 )); do
    if all_running >/dev/null 2>&1; then rec=$(( $(now_ms) - t0 )); break; fi
    sleep 0.2
  done
  [[ $rec != timeout ]] || { status=1; pods_json | jq -c '.items[] | select(.status.phase != "Running" or
    ([.status.containerStatuses[]? | .state.running != null] | all | not)) | {n: .metadata.name, s: .status}' >&2; }
  printf '%-6s %-6s %-6s %-12s %s\n' "$name" "$seen" "$in_log" "$rec" "$msg"
  RES[$name]=$(jq -n --arg seen "$seen" --arg l "$in_log" --arg rec "$rec" --arg msg "$msg" \
    '{cause_in_status: ($seen=="yes"), cause_in_log: ($l=="yes"), recovery_ms: ($rec | tonumber? // null), message: $msg}')
}

printf '%-6s %-6s %-6s %-12s %s\n' fault status log "recover_ms" "cause: the message in the pod status"
fault runc r "injected runc fault" 'echo flaky >"$FAULTS/runc.mode"' 'echo ok >"$FAULTS/runc.mode"'
fault cni c "injected CNI fault" 'echo fail >"$FAULTS/cni.mode"' 'echo ok >"$FAULTS/cni.mode"'
fault disk d "no space" 'dd if=/dev/zero of="$ROOT/filler" bs=1M 2>/dev/null || true' 'rm -f "$ROOT/filler"'
echo "runc calls that hung: $(cat "$FAULTS/runc.hangs" 2>/dev/null | wc -l)"
# Faults hit blobs of at least MIN bytes (default 100000: the unique layer, not configs or manifests); a
# stall hits every resumed request too while the rest is at least MIN (20000: 4 attempts of 30 s).
rule() { jq -n --arg r "faults/$1" --arg f "$2" --argjson m "${3:-100000}" '{($r): $f, "_min": $m, "_stall": 600}' >"$RULES"; }
PULL_FAULTS=(gman gblob drop stall reset down)
fault reg-gman gm "manifest is not JSON" 'rule gman garbage-manifest' "echo '{}' >\"\$RULES\"" "$PROXY/faults/gman:test"
fault reg-gblob gb "digest mismatch" 'rule gblob garbage-blob' "echo '{}' >\"\$RULES\"" "$PROXY/faults/gblob:test"
fault reg-drop dr "transfer closed" 'rule drop drop 20000' "echo '{}' >\"\$RULES\"" "$PROXY/faults/drop:test"
fault reg-stall st "too slow" 'rule stall stall 20000' "echo '{}' >\"\$RULES\"; stop_proxy; start_proxy ${PROXY##*:}" \
  "$PROXY/faults/stall:test" 200
fault reg-reset rs "empty reply" 'rule reset reset' "echo '{}' >\"\$RULES\"" "$PROXY/faults/reset:test"
fault reg-down dn "connect" 'stop_proxy' 'start_proxy ${PROXY##*:}' "$PROXY/faults/down:test"
echo "registry faults applied by the proxy: $(grep -c ' fault ' "$FAULTS/proxy.log" || true)"

rm -f "$MANIFESTS"/*.yaml
wait_for "all pods gone" 120 no_pods
sleep 1  # the last teardown's IPAM release and cgroup removal follow the pod's disappearance from /pods
AFTER=$(snapshot_resources)
leak=none
if [[ $AFTER != "$BASELINE" ]]; then
  leak=$(diff <(echo "$BASELINE") <(echo "$AFTER") | grep '^>' | tr '\n' ' '); status=1
fi
echo "leaks after recovery and deletion: $leak"
stop_nanolet

out=$NANOLET_SRC/bench/results.json
[[ -s $out ]] || echo '{}' >"$out"
regs=$(for f in "${PULL_FAULTS[@]}"; do echo "{\"registry_$f\": ${RES[reg-$f]}}"; done | jq -s add)
jq --argjson r "${RES[runc]}" --argjson c "${RES[cni]}" --argjson d "${RES[disk]}" --argjson g "$regs" --arg leak "$leak" \
  '. * {faults: ({runc: $r, cni: $c, disk: $d, leaks: $leak} + $g)}' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
exit $status
