#!/usr/bin/env bash
# The whole test suite from a fresh clone: install, configure, build, run every test; then the
# same suite built with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan), which fails
# on any memory error, leak or undefined behaviour a test provokes.
# Usage: scripts/test.sh [--sanitize | --no-sanitize] [ctest args...]
#   --sanitize     only the sanitizer build and its run
#   --no-sanitize  only the main build and its run (a quick local check)
set -euo pipefail
cd "$(dirname "$0")/.."
configs=(main sanitize)
case ${1:-} in
  --sanitize) configs=(sanitize); shift ;;
  --no-sanitize) configs=(main); shift ;;
esac

scripts/setup.sh
export PATH="$PWD/.tools/bin:$PATH"
# ccache hits across clones in other folders (CI builds a fresh clone each time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
JOBS=${JOBS:-$(nproc)}
# Sanitizer reports fail the test that provoked them, with a stack that names file and line.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_suite() {
  local name=$1 build_dir=$2
  shift 2
  local cmake_args=("$@")
  echo "test[$name]: configuring in $build_dir"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}" >/dev/null
  echo "test[$name]: building with $JOBS jobs into $build_dir (the first build takes several minutes)"
  local log="$build_dir/build.log" start=$SECONDS
  # Progress: one line each time the build passes another 10%.
  if ! cmake --build "$build_dir" -j "$JOBS" 2>&1 | tee "$log" |
    awk -v name="$name" '/^\[ *[0-9]+%\]/ { p = int(substr($0, 2) / 10) * 10; if (p > last) { last = p; printf "test[%s]: build %d%%\n", name, p; fflush() } }'; then
    grep -E -B2 -A6 "error|Error" "$log" | head -80 >&2
    echo "test[$name]: build failed after $((SECONDS - start))s; the compiler's first errors are above, the full log is $log" >&2
    exit 1
  fi
  echo "test[$name]: built in $((SECONDS - start))s"
  echo "test[$name]: running the suite"
  start=$SECONDS
  (cd "$build_dir" && ctest --output-on-failure -j "$JOBS" --timeout 300 "${CTEST_ARGS[@]}") || {
    echo "test[$name]: failures above (build dir $build_dir); rerun one with: cd $build_dir && ctest -R NAME --output-on-failure" >&2
    exit 1
  }
  echo "test[$name]: suite passed in $((SECONDS - start))s"
}

CTEST_ARGS=("$@")
for c in "${configs[@]}"; do
  case $c in
    main) run_suite main "${BUILD_DIR:-build}" ;;
    sanitize) run_suite sanitize "${SANITIZE_BUILD_DIR:-build-asan}" -DKEYWARD_SANITIZE=ON ;;
  esac
done
