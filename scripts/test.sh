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
# ccache hits across clones in other folders (CI builds a fresh clone each time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
JOBS=${JOBS:-$(nproc)}
echo "test: configuring in $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${CMAKE_ARGS[@]}" >/dev/null
echo "test: building with $JOBS jobs into $BUILD_DIR (the first build takes several minutes)"
LOG="$BUILD_DIR/build.log"
start=$SECONDS
# Progress: one line each time the build passes another 10%.
if ! cmake --build "$BUILD_DIR" -j "$JOBS" 2>&1 | tee "$LOG" |
  awk '/^\[ *[0-9]+%\]/ { p = int(substr($0, 2) / 10) * 10; if (p > last) { last = p; printf "test: build %d%%\n", p; fflush() } }'; then
  grep -E -B2 -A6 "error|Error" "$LOG" | head -80 >&2
  echo "test: build failed after $((SECONDS - start))s; the compiler's first errors are above, the full log is $LOG" >&2
  exit 1
fi
echo "test: built in $((SECONDS - start))s"
echo "test: running the suite"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS" --timeout 300 "$@"
