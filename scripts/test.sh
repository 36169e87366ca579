#!/usr/bin/env bash
# The whole test suite from a fresh clone: install, configure, build, run every test.
# Usage: scripts/test.sh [--sanitize] [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
CMAKE_ARGS=()
if [[ ${1:-} == --sanitize ]]; then
  CMAKE_ARGS+=(-DKEYWARD_SANITIZE=ON)
  BUILD_DIR=build-asan
  shift
fi

scripts/setup.sh
export PATH="$PWD/.tools/bin:$PATH"
JOBS=${JOBS:-$(nproc)}
echo "test: configuring in $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${CMAKE_ARGS[@]}" >/dev/null
echo "test: building with $JOBS jobs (first build takes several minutes)"
cmake --build "$BUILD_DIR" -j "$JOBS" 2>&1 | grep -E "error|warning|Linking|Built target" || true
if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
  echo "test: build failed; the compiler's errors are above" >&2
  exit 1
fi
cmake --build "$BUILD_DIR" -j "$JOBS" >/dev/null  # fails loudly if anything is still broken
echo "test: running the suite"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS" --timeout 300 "$@"
