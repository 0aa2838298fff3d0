#!/usr/bin/env bash
# Leak check, long version: CYCLES (default 200) pod create/remove cycles through nanolet (PARALLEL pods per
# round, default 5), then every resource count back to the starting snapshot. The e2e test
# tests/e2e/runtime_leak_test.sh runs 50; this is the same test with more cycles, timed.
# Usage: bench/leak.sh BUILD_DIR [CYCLES] [PARALLEL]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
export NANOLET_BUILD=$BUILD NANOLET_SRC=$(cd "$(dirname "$0")/.." && pwd)
export CYCLES=${2:-200} PARALLEL=${3:-5}
t0=$(date +%s%N)
bash "$NANOLET_SRC/tests/e2e/runtime_leak_test.sh"
echo "leak: $CYCLES cycles ($PARALLEL in parallel), no leak, $(( ($(date +%s%N) - t0) / 1000000 )) ms"
