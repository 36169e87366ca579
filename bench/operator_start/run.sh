#!/usr/bin/env bash
# keyward-operator starting over many ApiKeys in a cluster full of unrelated objects, against
# `kubectl get apikeys -A -o json` on the same fake API server. Prints the markdown table for
# docs/benchmarks.md.
#   bench/operator_start/run.sh                 (APIKEYS=10000 SECRETS=100000 PODS=20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
APIKEYS=${APIKEYS:-10000}
SECRETS=${SECRETS:-100000}
PODS=${PODS:-20000}

scripts/setup.sh >/dev/null
[[ -f "$BUILD_DIR/CMakeCache.txt" ]] || cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "bench: building keyward-operator and the benchmark" >&2
cmake --build "$BUILD_DIR" --target keyward-operator keyward-bench-operator-start -j "$(nproc)" >/dev/null

out=$("$BUILD_DIR/bench/operator_start/keyward-bench-operator-start" \
  --operator "$BUILD_DIR/operator/keyward-operator" --kubectl "$(command -v kubectl)" \
  --apikeys "$APIKEYS" --unrelated-secrets "$SECRETS" --unrelated-pods "$PODS" --timeout-seconds 900)

python3 - "$out" <<'PY'
import json, os, platform, sys
r = json.loads(sys.argv[1])
first, restart = r["first_start"], r["restart"]
k, krss = r["kubectl_list_seconds"], r["kubectl_peak_rss_mib"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Machine: {os.cpu_count()} cores ({cpu}), Linux {platform.release()}. Fake API server over TLS "
      f"holding {r['apikeys']} ApiKeys, {r['unrelated_secrets']} unrelated Secrets and "
      f"{r['unrelated_pods']} unrelated pods; keyward-operator run --workers 2.\n")
def verdict(ok, miss):
    return "met" if ok else f"missed: {miss}"
print("| measure | keyward-operator | baseline (same run) | ratio | target |")
print("| --- | --- | --- | --- | --- |")
ratio = restart["seconds"] / k
print(f"| restart over reconciled keys: until every key was passed once, queue empty (s) | "
      f"{restart['seconds']:.1f} | kubectl get apikeys -A -o json: {k:.2f} | {ratio:.1f}x | at most 2x: "
      f"{verdict(ratio <= 2, f'{ratio / 2:.1f}x over')} |")
print(f"| restart: write requests / all requests | {restart['writes']} / {restart['requests']} | | | "
      f"zero writes: {verdict(restart['writes'] == 0, str(restart['writes']) + ' writes')} |")
print(f"| first start over new keys: until every key has a key Secret and a status (s) | "
      f"{first['seconds']:.1f} | | | within 120 s: {verdict(first['seconds'] <= 120 and first['done'], 'over')} |")
print(f"| first start: writes per key / requests per key | {first['writes'] / r['apikeys']:.1f} / "
      f"{first['requests'] / r['apikeys']:.1f} | | | |")
print(f"| CPU per reconciled key, first start / restart (ms) | "
      f"{1000 * first['operator_cpu_seconds'] / r['apikeys']:.1f} / "
      f"{1000 * restart['operator_cpu_seconds'] / r['apikeys']:.2f} | | | reported |")
peak = max(first["operator_peak_rss_mib"], restart["operator_peak_rss_mib"])
ratio = peak / krss
print(f"| peak RSS (MiB) | {peak:.0f} | kubectl's for the list: {krss:.0f} | {ratio:.1f}x | at most 0.5x: "
      f"{verdict(ratio <= 0.5, f'{ratio / 0.5:.1f}x over')} |")
if not (first["done"] and restart["done"]):
    print("\nA start did not finish in time: the numbers above are not valid.")
    sys.exit(1)
PY
