#!/usr/bin/env bash
# As a node of a cluster (the fixture kube-apiserver): N pods created through the API at once (one kubectl
# create of a List, nodeName set) -> all Running as the apiserver reports them, beside the same N as static pods
# (manifests dropped together -> all Running in the node's /pods, their mirror pods aside). Also the API
# requests nanolet made (status writes per pod start; requests in an idle minute).
# Usage: bench/cluster.sh BUILD_DIR [N]   (default 100). Prints a table; merges {cluster: ...} into
# bench/results.json.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-100}
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
source "$NANOLET_SRC/tests/e2e/lib.sh"
source "$NANOLET_SRC/tests/fixtures/apiserver/lib.sh"
# lib.sh's cleanup exits with the status it finds in $?: keep the test's own status across apiserver_stop.
cluster_exit() { local rc=$?; set +e; apiserver_stop; (exit "$rc"); cleanup; }
trap cluster_exit EXIT
ensure_image
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
apiserver_start "$E2E_TMP/api" --node e2e-node
start_nanolet --kubeconfig "$APISERVER_DIR/kubeconfig-e2e-node" --max-pods $(( 2 * N + 10 ))
wait_for "node Ready" 30 kubectl_fx get node e2e-node
running_api() { [[ $(kubectl_fx get pods -o json | jq '[.items[] | select(.metadata.name | startswith("api-")) | select(.status.phase=="Running")] | length') -ge $N ]]; }
running_static() { [[ $(pods_json | jq '[.items[] | select(.metadata.name | startswith("st-")) | select(.status.phase=="Running")] | length') -ge $N ]]; }

{ echo '{"apiVersion":"v1","kind":"List","items":['
  for i in $(seq "$N"); do
    (( i > 1 )) && echo ','
    echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"api-$i\"},\"spec\":{\"nodeName\":\"e2e-node\",\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"nanolet.local/busybox:1.35\",\"command\":[\"sleep\",\"3600\"]}]}}"
  done
  echo ']}'; } >"$E2E_TMP/pods.json"
apiserver_ctl POST /counters >/dev/null
t0=$(now_ms)
kubectl_fx create --validate=false -f "$E2E_TMP/pods.json" >/dev/null
wait_for "$N API pods Running" 300 running_api
API_MS=$(( $(now_ms) - t0 ))
sleep 2  # late status writes land before counting (a figure, not synchronisation)
c=$(apiserver_ctl GET /counters)
WRITES=$(jq '.counts["patch pods/status"] // 0' <<<"$c")
EVENTS=$(jq '(.counts["create events"] // 0) + (.counts["patch events"] // 0)' <<<"$c")
BURST=$(jq '.total' <<<"$c")

t0=$(now_ms)
for i in $(seq "$N"); do
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: st-%s}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{name: c, image: nanolet.local/busybox:1.35, command: [sleep, "3600"]}]\n' "$i" \
    >"$MANIFESTS/.st-$i.yaml"
done
for i in $(seq "$N"); do mv "$MANIFESTS/.st-$i.yaml" "$MANIFESTS/st-$i.yaml"; done
wait_for "$N static pods Running" 300 running_static
STATIC_MS=$(( $(now_ms) - t0 ))
sleep 5  # mirror pods settle (a figure, not synchronisation)
apiserver_ctl POST /counters >/dev/null
sleep 60  # the idle minute being measured
c=$(apiserver_ctl GET /counters)
IDLE=$(jq .total <<<"$c")

printf '%-52s %10s\n' "$N pods created through the API -> all Running" "$API_MS ms"
printf '%-52s %10s\n' "$N static pods -> all Running" "$STATIC_MS ms"
printf '%-52s %10s\n' "status writes per API pod start" "$(awk -v w="$WRITES" -v n="$N" 'BEGIN{printf "%.2f", w/n}')"
printf '%-52s %10s\n' "event writes per API pod start (Pulled/Created/Started)" "$(awk -v w="$EVENTS" -v n="$N" 'BEGIN{printf "%.2f", w/n}')"
printf '%-52s %10s\n' "API requests per API pod start (all, kubectl's too)" "$(awk -v w="$BURST" -v n="$N" 'BEGIN{printf "%.2f", w/n}')"
printf '%-52s %10s\n' "API requests in an idle minute ($((2 * N)) pods)" "$IDLE  $(jq -c .counts <<<"$c")"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$NANOLET_SRC/bench/results.json
[[ -s $out ]] || echo '{}' >"$out"
jq --argjson a "$API_MS" --argjson s "$STATIC_MS" --argjson w "$WRITES" --argjson i "$IDLE" --argjson n "$N" --argjson e "$EVENTS" --argjson b "$BURST" \
  '. * {cluster: {pods: $n, api_pods_running_ms: $a, static_pods_running_ms: $s, status_writes: $w, event_writes: $e, burst_requests: $b, idle_minute_requests: $i}}' \
  "$out" >"$out.tmp" && mv "$out.tmp" "$out"
