#!/usr/bin/env bash
# What `make test` (and so CI) runs: ONE build, with ASan+UBSan, then its unit tests, the end-to-end tests on
# real runc and CNI against that sanitized nanolet, and short fuzz runs. Fails on the first failure.
# Why one build: a release build plus a sanitizer build plus the fuzz build do not fit make test's 20 minutes
# on 2 cores; the sanitized binary is the stricter one to test (`make run` and `make bench` build the release).
set -euo pipefail
BUILD=${1:-build}
SAN=$BUILD-asan
cd "$(dirname "$0")/.."
JOBS=$(nproc)

echo "== build with ASan+UBSan ($SAN)"
cmake -S . -B "$SAN" -DNANOLET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" \
  "-DCMAKE_C_FLAGS_DEBUG=-O0 -g1" >/dev/null
cmake --build "$SAN" -j "$JOBS"

echo "== unit tests under ASan+UBSan"
(cd "$SAN" && ctest -L unit --output-on-failure -j "$JOBS")

# Each e2e test has its own root, bridge, subnet, netns dir, cgroup parent and ports, so two run at a time.
echo "== end-to-end tests (real runc, CNI) on the sanitized nanolet"
(cd "$SAN" && ctest -L e2e --output-on-failure -j "$JOBS")

if [[ -d fuzz && -f fuzz/CMakeLists.txt ]]; then
  # Every target of `fuzzers` for 10 s (6 targets, http included: about a minute); longer runs by hand:
  # fuzz/run.sh BUILD-fuzz 600.
  echo "== short fuzz runs"
  cmake -S . -B "$BUILD-fuzz" -DNANOLET_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build "$BUILD-fuzz" -j "$JOBS" --target fuzzers
  fuzz/run.sh "$BUILD-fuzz" 10
fi
echo "== all tests passed"
