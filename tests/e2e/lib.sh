# Shared helpers for end-to-end tests: a private nanolet (own root, log dir, port, CNI bridge and subnet),
# condition waits with deadlines, and cleanup that removes everything the test made.
set -euo pipefail
: "${NANOLET_BUILD:?}" "${NANOLET_SRC:?}"
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: end-to-end tests need root"; exit 0; fi

E2E_TMP=$(mktemp -d /tmp/nanolet-e2e.XXXXXX)
ROOT=$E2E_TMP/root
MANIFESTS=$E2E_TMP/manifests
LOGS=$E2E_TMP/logs
mkdir -p "$ROOT" "$MANIFESTS" "$LOGS"
# A bridge and subnet of this test's own (never the real nanolet0): IDs 20-219 are claimed atomically with mkdir,
# so tests running at the same time never share one; cleanup releases it.
E2E_ID=""
mkdir -p /run/nanolet/e2e-ids
for ((i = 0; i < 200; i++)); do
  cand=$(( (($$ + i) % 200) + 20 ))
  if mkdir "/run/nanolet/e2e-ids/$cand" 2>/dev/null; then E2E_ID=$cand; break; fi
done
[[ -n $E2E_ID ]] || { echo "no free e2e network ID in /run/nanolet/e2e-ids" >&2; exit 1; }
export NANOLET_CNI_BRIDGE=nle2e$E2E_ID
export NANOLET_CNI_SUBNET=10.231.$E2E_ID.0/24
# Namespace files and pod cgroups of this test's own, so that leak checks count only what this test made even
# when other tests run at the same time.
export NANOLET_NETNS_DIR=/run/nanolet/e2e-$$
export NANOLET_CGROUP_PARENT=/nanolet-e2e-$$
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
NANOLET_PID=""
RUNC_ROOT=$ROOT/runtime/runc

log() { echo "[$(date +%T.%3N)] $*" >&2; }
fail() { log "FAIL: $*"; [[ -f $E2E_TMP/nanolet.log ]] && tail -50 "$E2E_TMP/nanolet.log" >&2; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds or the deadline passes.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$(( $(date +%s%N) + secs * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s%N) > deadline )); then fail "timed out after ${secs}s waiting for: $what"; fi
    sleep 0.05  # poll interval of a condition wait, not synchronisation
  done
}

ensure_image() {
  "$NANOLET_SRC/scripts/build-test-image.sh" "$NANOLET_BUILD/images/busybox.oci.tar" >/dev/null
  "$NANOLET_BUILD/nanolet" images import --root-dir "$ROOT" "$NANOLET_BUILD/images/busybox.oci.tar" >/dev/null
}

start_nanolet() {
  "$NANOLET_BUILD/nanolet" --pod-manifest-path "$MANIFESTS" --root-dir "$ROOT" --pod-logs-dir "$LOGS" \
    --address 127.0.0.1 --read-only-port "$PORT" --port "${SECURE_PORT:-0}" \
    --file-check-frequency "${FILE_CHECK_FREQUENCY:-1s}" --sync-frequency "${SYNC_FREQUENCY:-10s}" \
    --hostname-override e2e-node "$@" >>"$E2E_TMP/nanolet.log" 2>&1 &
  NANOLET_PID=$!
  wait_for "nanolet /healthz" 20 curl -sf "$API/healthz"
}

stop_nanolet() {
  if [[ -n $NANOLET_PID ]] && kill -0 "$NANOLET_PID" 2>/dev/null; then
    kill -TERM "$NANOLET_PID"; wait "$NANOLET_PID" 2>/dev/null || true
  fi
  NANOLET_PID=""
}

pods_json() { curl -sf "$API/pods"; }
# pod_field NAME JQ: a field of the pod NAME-e2e-node.
pod_field() { pods_json | jq -r --arg n "$1-e2e-node" ".items[] | select(.metadata.name==\$n) | $2"; }
pod_phase_is() { [[ $(pod_field "$1" .status.phase) == "$2" ]]; }
pod_absent() { [[ -z $(pod_field "$1" .metadata.name) ]]; }
all_ready() { [[ $(pod_field "$1" '[.status.containerStatuses[]?.ready] | all') == true && \
                 $(pod_field "$1" '.status.containerStatuses | length') -gt 0 ]]; }
container_id() { pod_field "$1" ".status.containerStatuses[] | select(.name==\"$2\") | .containerID" | sed 's|runc://||'; }
container_pid() { runc --root "$RUNC_ROOT" state "$1" | jq -r .pid; }
rexec() { local id=$1; shift; runc --root "$RUNC_ROOT" exec "$id" "$@"; }

snapshot_resources() {
  {
    echo "netns: $(ls "$NANOLET_NETNS_DIR" 2>/dev/null | wc -l)"
    echo "veths: $(ip -o link show master "$NANOLET_CNI_BRIDGE" 2>/dev/null | wc -l)"
    echo "ipam: $(ls "$ROOT/cni/networks"/*/ 2>/dev/null | grep -c '^10\.' || true)"
    echo "mounts: $(grep -c "$E2E_TMP" /proc/self/mountinfo || true)"
    echo "cgroups: $(ls -d /sys/fs/cgroup/*"$NANOLET_CGROUP_PARENT"/pod* /sys/fs/cgroup/*/*"$NANOLET_CGROUP_PARENT"/pod* 2>/dev/null | wc -l)"
    echo "runc: $(runc --root "$RUNC_ROOT" list -q 2>/dev/null | wc -l)"
    echo "monitors: $(pgrep -f "nanolet-monitor.*$ROOT" | wc -l)"
    echo "sandboxes: $(ls "$ROOT/runtime/sandboxes" 2>/dev/null | wc -l)"
    echo "containers: $(ls "$ROOT/runtime/containers" 2>/dev/null | wc -l)"
    echo "pods: $(ls "$ROOT/pods" 2>/dev/null | wc -l)"
    # Per-pod iptables rules (portmap's hostPort chains; the bridge plugin's ipMasq chains under a CNI config
    # that uses it); the network's one masquerade chain stays while nanolet runs.
    echo "nat: $(iptables-save -t nat 2>/dev/null | grep -v NANOLET-MASQ | grep -c "10\.231\.$E2E_ID\." || true)"
  }
}

# expect_no_leaks BASELINE [SECONDS]: waits (default 20 s) for snapshot_resources to equal BASELINE, else prints
# the difference and fails.
expect_no_leaks() {
  local base=$1 deadline=$(( $(date +%s%N) + ${2:-20} * 1000000000 ))
  until [[ $(snapshot_resources) == "$base" ]]; do
    if (( $(date +%s%N) > deadline )); then
      diff <(echo "$base") <(snapshot_resources) >&2 || true
      fail "resources leaked"
    fi
    sleep 0.05  # poll interval of a condition wait, not synchronisation
  done
}

cleanup() {
  local rc=$?
  stop_nanolet
  if [[ -d $RUNC_ROOT ]]; then
    for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true; done
  fi
  for sb in "$ROOT"/runtime/sandboxes/*/; do
    [[ -d $sb ]] || continue
    id=$(basename "$sb")
    for k in net ipc uts; do umount -l "$NANOLET_NETNS_DIR/$id-$k" 2>/dev/null || true; rm -f "$NANOLET_NETNS_DIR/$id-$k"; done
  done
  for f in "$NANOLET_NETNS_DIR"/*; do [[ -e $f ]] && { umount -l "$f" 2>/dev/null || true; rm -f "$f"; }; done
  # nanolet bind-mounts the namespace directory onto itself (shared propagation, as `ip netns` does /run/netns).
  umount -l "$NANOLET_NETNS_DIR" 2>/dev/null || true
  rmdir "$NANOLET_NETNS_DIR" 2>/dev/null || true
  # Pod cgroups first (depth-first), then the test's parent, in every hierarchy.
  find /sys/fs/cgroup -depth -type d -path "*$NANOLET_CGROUP_PARENT*" -exec rmdir {} \; 2>/dev/null || true
  grep "$E2E_TMP" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  local veths_left=0 i
  if [[ -n ${VERIFY_CLEANUP:-} ]]; then  # veths go with their namespace, asynchronously in the kernel
    for ((i = 0; i < 100; i++)); do
      veths_left=$(ip -o link show master "$NANOLET_CNI_BRIDGE" 2>/dev/null | wc -l)
      (( veths_left == 0 )) && break
      sleep 0.1  # poll interval of a condition wait, not synchronisation
    done
  fi
  ip link del "$NANOLET_CNI_BRIDGE" 2>/dev/null || true
  python3 "$NANOLET_SRC/scripts/nat-cleanup.py" "$NANOLET_CNI_BRIDGE" "10.231.$E2E_ID." || true
  rm -rf "$E2E_TMP"
  rmdir "/run/nanolet/e2e-ids/$E2E_ID" 2>/dev/null || true
  # VERIFY_CLEANUP=1 (benches that SIGKILL nanolet): nothing of this test may be left on the machine.
  if [[ -n ${VERIFY_CLEANUP:-} ]]; then
    local left="" n
    (( veths_left == 0 )) || left+=" veths=$veths_left"
    n=$(grep -c -e "$E2E_TMP" -e "$NANOLET_NETNS_DIR" /proc/self/mountinfo || true); (( n == 0 )) || left+=" mounts=$n"
    [[ ! -e $NANOLET_NETNS_DIR ]] || left+=" netns-dir"
    n=$(find /sys/fs/cgroup -maxdepth 3 -type d -path "*$NANOLET_CGROUP_PARENT*" 2>/dev/null | wc -l); (( n == 0 )) || left+=" cgroups=$n"
    ! ip link show "$NANOLET_CNI_BRIDGE" >/dev/null 2>&1 || left+=" bridge"
    n=$(pgrep -f "$E2E_TMP" | wc -l); (( n == 0 )) || left+=" processes=$n"
    [[ ! -e $E2E_TMP ]] || left+=" files"
    if [[ -n $left ]]; then log "cleanup left:$left"; rc=1; else log "cleanup verified: nothing left"; fi
  fi
  exit $rc
}
trap cleanup EXIT
