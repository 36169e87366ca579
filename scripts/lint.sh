#!/usr/bin/env bash
# House rule 8: clang-format and clang-tidy clean, warnings as errors (.clang-format, .clang-tidy).
# Usage: scripts/lint.sh [file-or-directory...]   (default: common operator sidecar tests bench)
# Not part of scripts/test.sh: clang-tidy needs about 10 s a file, a full run several minutes.
# Environment: LINT_BUILD_DIR (default build-lint: configured here, never built), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=$(realpath -m "${LINT_BUILD_DIR:-build-lint}")
JOBS=${JOBS:-2}
FIX_HINT="lint: fix the findings above (clang-format -i <file> for formatting); a check that is wrong for this codebase is configured in .clang-tidy with a comment, never silenced wholesale"

if ! command -v clang-tidy >/dev/null 2>&1 || ! command -v clang-format >/dev/null 2>&1; then
  scripts/setup.sh
fi

# The files: every .cc and .h under the arguments (or the project's source directories).
# clang-tidy runs on translation units (.cc files in the compile database); a header is checked
# through the units that include it (HeaderFilterRegex), or on its own when named as an argument
# (flags interpolated from a neighbour in the database).
(($#)) || set -- common operator sidecar tests bench
files=()
units=()
for arg in "$@"; do
  arg=${arg#./}
  if [[ -d $arg ]]; then
    while IFS= read -r f; do
      files+=("$f")
      [[ $f == *.cc ]] && units+=("$f")
    done < <(find "$arg" -type f \( -name '*.cc' -o -name '*.h' \) | sort)
  elif [[ -f $arg ]]; then
    files+=("$arg")
    units+=("$arg")
  else
    echo "lint: no such file or directory: $arg" >&2
    exit 2
  fi
done
((${#files[@]})) || { echo "lint: no C++ files under $*" >&2; exit 2; }

status=0
echo "lint: clang-format on ${#files[@]} files"
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "lint: clang-format: the files above are not formatted; run: clang-format -i <file>" >&2
  status=1
fi

# A compile database of our own (configure only; nothing is built here).
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
nice -n 19 cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$BUILD_DIR.configure.log" 2>&1 ||
  { cat "$BUILD_DIR.configure.log" >&2; echo "lint: cmake configure failed (log above)" >&2; exit 1; }
rm -f "$BUILD_DIR.configure.log"

tidy_units=()
for f in "${units[@]}"; do
  if [[ $f == *.cc ]] && ! grep -qF "\"file\": \"$ROOT/$f\"" "$BUILD_DIR/compile_commands.json"; then
    echo "lint: $f is in no target (not in the compile database); clang-tidy skips it"
    continue
  fi
  tidy_units+=("$f")
done

# Debian's clang-tidy is clang 14; the database is g++ 12's. Clang 14 spells C++23 c++2b and does
# not know some g++ warning flags. It cannot parse libstdc++ 12's <expected> (our Result<T>):
# the header needs C++20's conditionally trivial destructors (P0848R3, clang 16), so clang 14
# gets a patched copy of that one header, made here; scripts/lint_tidy.py explains the patch.
TIDY_ARGS=(--quiet -p "$BUILD_DIR" --extra-arg=-std=c++2b --extra-arg=-Wno-unknown-warning-option)
tidy_major=$(clang-tidy --version | sed -n 's/.*LLVM version \([0-9]*\).*/\1/p')
if ((tidy_major < 16)); then
  expected=$(printf '#include <expected>\n' | c++ -std=c++23 -x c++ -M - | tr ' \\' '\n\n' | grep -m1 '/expected$')
  mkdir -p "$BUILD_DIR/clang14-include"
  python3 scripts/lint_tidy.py shim "$expected" "$BUILD_DIR/clang14-include"
  TIDY_ARGS+=(--extra-arg=-isystem --extra-arg="$BUILD_DIR/clang14-include")
fi

OUT="$BUILD_DIR/clang-tidy"
rm -rf "$OUT" && mkdir -p "$OUT"
total=${#tidy_units[@]}
echo "lint: clang-tidy on $total translation units, $JOBS at a time (about 10 s each)"
start=$SECONDS
done_count=0
running=0
i=0
for f in "${tidy_units[@]}"; do
  i=$((i + 1))
  log="$OUT/$(printf '%04d' "$i").log"
  ( nice -n 19 clang-tidy "${TIDY_ARGS[@]}" "$f" >"$log" 2>&1 || true ) &
  running=$((running + 1))
  if ((running >= JOBS)); then
    wait -n
    running=$((running - 1))
    done_count=$((done_count + 1))
    echo "lint: clang-tidy $done_count/$total ($((SECONDS - start))s)"
  fi
done
while ((running > 0)); do
  wait -n
  running=$((running - 1))
  done_count=$((done_count + 1))
  echo "lint: clang-tidy $done_count/$total ($((SECONDS - start))s)"
done

if ((total)) && ! python3 scripts/lint_tidy.py report "$ROOT" "$OUT"/*.log; then
  status=1
fi
echo "lint: clang-tidy took $((SECONDS - start))s"
if ((status)); then
  echo "$FIX_HINT" >&2
  exit 1
fi
echo "lint: clean"
