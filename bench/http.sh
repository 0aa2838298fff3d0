#!/usr/bin/env bash
# Node API throughput on loopback with wrk (2 threads, 50 connections): /healthz and /pods (100 pods in the
# PodView) on the read-only port (plain HTTP) and on the authenticated port (HTTPS, bearer token). The server
# runs inside the unit_server binary (Bench.WrkPodsAndHealthz) so that no pods need to run. Targets (issue 6):
# /pods >= 5,000 req/s with p99 < 20 ms, /healthz >= 20,000 req/s. Prints a table; merges into
# bench/results.json. wrk and the server share the machine's cores: the figures include wrk's own CPU.
# Usage: bench/http.sh BUILD_DIR [DURATION]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd); DUR=${2:-5s}
SRC=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { echo "http.sh: wrk missing (scripts/install-deps.sh)"; exit 1; }
out=$(NANOLET_WRK=1 NANOLET_WRK_DURATION=$DUR "$BUILD/tests/unit_server" --gtest_filter='Bench.*' 2>&1)
# rows: port path rps p50_ms p99_ms
rows=$(awk '
  function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
  /^=== wrk/ { port = ($3 == "https") ? "authenticated(https)" : "read-only(http)"; path = $4 }
  /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
  /^Requests\/sec:/ { printf "%s %s %d %.2f %.2f\n", port, path, $2, p50, p99 }' <<<"$out")
[[ -n $rows ]] || { echo "$out"; echo "http.sh: no wrk figures"; exit 1; }
load=$(cut -d' ' -f1 /proc/loadavg)
printf '%-22s %-9s %10s %9s %9s\n' port path req/s p50_ms p99_ms
while read -r port path rps p50 p99; do printf '%-22s %-9s %10s %9s %9s\n' "$port" "$path" "$rps" "$p50" "$p99"; done <<<"$rows"
echo "(loadavg $load; wrk -t2 -c50 -d$DUR on loopback)"
res=$SRC/bench/results.json
[[ -s $res ]] || echo '{}' >"$res"
json=$(while read -r port path rps p50 p99; do
  jq -n --arg port "${port%%(*}" --arg path "$path" --argjson rps "$rps" --argjson p50 "$p50" --argjson p99 "$p99" \
    '{($port + " " + $path): {rps: $rps, p50_ms: $p50, p99_ms: $p99}}'
done <<<"$rows" | jq -s 'add')
jq --argjson h "$json" --arg load "$load" '. * {http: ($h + {loadavg: $load})}' "$res" >"$res.tmp" && mv "$res.tmp" "$res"
