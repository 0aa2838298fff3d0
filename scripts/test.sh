#!/usr/bin/env bash
# What `make test` (and so CI) runs, in order: unit tests, end-to-end tests, the ASan+UBSan unit build,
# short fuzz runs. Fails on the first failure.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
JOBS=$(nproc)

echo "== unit tests"
(cd "$BUILD" && ctest -L unit --output-on-failure -j "$JOBS")

echo "== end-to-end tests (real runc, CNI)"
(cd "$BUILD" && ctest -L e2e --output-on-failure)

echo "== unit tests under ASan+UBSan"
cmake -S . -B "$BUILD-asan" -DNANOLET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" "-DCMAKE_C_FLAGS_DEBUG=-O0 -g1" >/dev/null
cmake --build "$BUILD-asan" -j "$JOBS" --target unit_tests nanolet
(cd "$BUILD-asan" && ctest -L unit --output-on-failure -j "$JOBS")

if [[ -d fuzz && -f fuzz/CMakeLists.txt ]]; then
  # Every target of `fuzzers` for 10 s (5 targets: under a minute); longer runs by hand: fuzz/run.sh BUILD-fuzz 600.
  echo "== short fuzz runs"
  cmake -S . -B "$BUILD-fuzz" -DNANOLET_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build "$BUILD-fuzz" -j "$JOBS" --target fuzzers
  fuzz/run.sh "$BUILD-fuzz" 10
fi
echo "== all tests passed"
