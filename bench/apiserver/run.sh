#!/usr/bin/env bash
# Fake API server at scale: prints a markdown table row set for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target keyward-bench-apiserver -j "$(nproc)" >/dev/null
BIN="$BUILD_DIR/bench/apiserver/keyward-bench-apiserver"
echo "| objects | watchers | creates/s | list all (ms) | list by selector (ms) | get (ms) | update seen by all watchers (ms) | RSS (MiB) |"
echo "|---|---|---|---|---|---|---|---|"
for n in 1000 20000 50000; do
  out=$("$BIN" --objects "$n" --watchers 50 2>/dev/null)
  python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['objects']} | {r['watchers']} | {r['create_per_second']:.0f} | {r['list_all_ms']:.1f} | "
      f"{r['list_selector_ms']:.1f} | {r['get_mean_ms']:.2f} | {r['watch_fanout_ms']:.1f} | {r['server_rss_mib']:.0f} |")
PY
done
