#!/usr/bin/env bash
# `make bench`: every benchmark, each beside its runc floor measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/startup.sh "${1:-build}" 20
