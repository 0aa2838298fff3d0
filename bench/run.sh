#!/usr/bin/env bash
# `make bench`: every benchmark, each beside its runc floor measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/startup.sh "${1:-build}" 20
# The runtime path alone (OciRuntime: pause + one container) beside `runc run -d` of the same two; monitor RSS.
bench/runtime.sh "${1:-build}" 20
# 100 manifests at once (BENCH_MANY_PODS="100 500" for 500 too) beside the runc floor for as many pods.
bench/many_pods.sh "${1:-build}" ${BENCH_MANY_PODS:-100}
# Reliability: memory and idle CPU (100 pods; BENCH_RSS_PODS="100 500" for 500), restart survival
# (20 SIGKILLs), fault injection. They merge their figures into bench/results.json; a failed check is
# reported and the benchmarks after it still run.
bench/rss.sh "${1:-build}" "${BENCH_RSS_PODS:-100}" 60 || echo "bench/rss.sh FAILED" >&2
bench/restart_survival.sh "${1:-build}" 20 || echo "bench/restart_survival.sh FAILED (see its table)" >&2
bench/faults.sh "${1:-build}" || echo "bench/faults.sh FAILED (see its table)" >&2
# Node API throughput (wrk): /healthz and /pods with 100 pods, read-only and authenticated ports.
bench/http.sh "${1:-build}"
# Probes: nanolet CPU with 1,000 httpGet probes every 10 s (50 pods x 10 containers x 2); probe failure ->
# container killed, against one period plus the grace.
bench/probes.sh "${1:-build}" 50 10 60 3
# As a cluster node (fixture apiserver): 100 pods through the API -> all Running, beside 100 static pods; status
# writes per pod start and API requests per idle minute.
bench/cluster.sh "${1:-build}" 100
