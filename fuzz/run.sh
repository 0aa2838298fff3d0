#!/usr/bin/env bash
# Runs every fuzzer built in BUILD_DIR/fuzz for SECONDS each, on a scratch copy of its seed corpus
# (fuzz/corpus/<name>/), and fails when one crashes, leaks or times out. fuzz/<name>.options, when present,
# holds extra libFuzzer flags for that target (one line).
# Usage: fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
BUILD=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS}
SECONDS_EACH=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS}
HERE=$(cd "$(dirname "$0")" && pwd)

shopt -s nullglob
fuzzers=("$BUILD"/fuzz/fuzz_*)
if [[ ${#fuzzers[@]} -eq 0 ]]; then
  echo "no fuzzers in $BUILD/fuzz (build the 'fuzzers' target with -DNANOLET_FUZZ=ON)" >&2
  exit 1
fi
for bin in "${fuzzers[@]}"; do
  [[ -x $bin && -f $bin ]] || continue
  name=$(basename "$bin")
  name=${name#fuzz_}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/corpus" "$work/artifacts"
  if [[ -d $HERE/corpus/$name ]]; then cp -r "$HERE/corpus/$name/." "$work/corpus/"; fi
  extra=()
  if [[ -f $HERE/$name.options ]]; then read -r -a extra <"$HERE/$name.options"; fi
  echo "fuzz_$name: ${SECONDS_EACH}s"
  if ! "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 "${extra[@]}" -artifact_prefix="$work/artifacts/" "$work/corpus" \
      >"$work/log" 2>&1; then
    tail -n 60 "$work/log" >&2
    mkdir -p "$BUILD/fuzz/crashes"
    cp "$work"/artifacts/* "$BUILD/fuzz/crashes/" 2>/dev/null || true
    echo "fuzz_$name FAILED; inputs saved in $BUILD/fuzz/crashes/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|cov:" "$work/log" | tail -n 2
  rm -rf "$work"
  trap - EXIT
done
echo "fuzzing passed"
