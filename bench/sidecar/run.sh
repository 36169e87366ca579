#!/usr/bin/env bash
# Benchmark of keyward-sidecar's resident memory and idle CPU (issue #4's targets: under 4 MiB
# RSS in steady state, no CPU between refreshes). Runs the sidecar against the provider
# simulator, lets it warm up (first login, status server up, a few probes), then reads
# /proc/<pid>/status (VmRSS, VmHWM, RssAnon, RssFile, Threads) and the utime+stime ticks of
# /proc/<pid>/stat at the start and end of an idle interval in which no refresh is due.
# Prints a markdown table.
#
# usage: bench/sidecar/run.sh [BUILD_DIR] [IDLE_SECONDS]
set -euo pipefail

BUILD=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build-sidecar}
IDLE=${2:-30}
SIDECAR=${SIDECAR_BIN:-$BUILD/sidecar/keyward-sidecar}
SIM=${SIM_BIN:-$BUILD/tests/provider_sim/keyward-provider-sim}
for b in "$SIDECAR" "$SIM"; do
  [[ -x $b ]] || { echo "missing $b: build the targets keyward-sidecar and keyward-provider-sim" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/keyward-bench.XXXXXX)
SIM_PID=""
SC_PID=""
cleanup() {
  [[ -n $SC_PID ]] && kill "$SC_PID" 2>/dev/null || true
  [[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A one-hour token: no refresh falls inside the idle interval.
"$SIM" --lifetime-seconds 3600 >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
for _ in $(seq 50); do grep -q url "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$WORK/sim.out")

PORT=$((20000 + RANDOM % 20000))
KEYWARD_PASSWORD=demo-password KEYWARD_API_KEY=demo-sec "$SIDECAR" run --provider tradovate \
  --endpoint "$URL/v1" --username demo --client-id 8 --app-id Bench --out "$WORK/tokens" \
  --listen "127.0.0.1:$PORT" >"$WORK/sidecar.log" 2>&1 &
SC_PID=$!

# Warm-up: wait for the first token, then exercise every endpoint a few times.
for _ in $(seq 100); do [[ -e $WORK/tokens/token ]] && break; sleep 0.1; done
[[ -e $WORK/tokens/token ]] || { echo "no token after 10s:"; cat "$WORK/sidecar.log"; exit 1; }
for _ in 1 2 3; do
  for p in /readyz /healthz /metrics /v1/status; do curl -fsS "http://127.0.0.1:$PORT$p" >/dev/null; done
done
sleep 2

status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SC_PID/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$SC_PID/stat"; }
wakeups() { awk '/voluntary_ctxt_switches/ {s += $2} END {print s}' /proc/$SC_PID/task/*/status; }

RSS=$(status VmRSS); HWM=$(status VmHWM); ANON=$(status RssAnon); FILE=$(status RssFile)
THREADS=$(status Threads)
rollup() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SC_PID/smaps_rollup"; }
PSS=$(rollup Pss); PRIV=$(( $(rollup Private_Clean) + $(rollup Private_Dirty) ))
BIGGEST=$(awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6} /^Rss:/{rss[name]+=$2} END{for (n in rss) print rss[n], n}' \
  "/proc/$SC_PID/smaps" | sort -rn | head -4 | awk '{n=split($2, a, "/"); printf "%s%s %d kB", sep, (a[n] == "" ? "anon" : a[n]), $1; sep=", "}')
T0=$(ticks); W0=$(wakeups)
sleep "$IDLE"
T1=$(ticks); W1=$(wakeups)
RSS_AFTER=$(status VmRSS)
HZ=$(getconf CLK_TCK)
SIZE=$(stat -c %s "$SIDECAR")
LINK=$(file -b "$SIDECAR" | grep -o 'dynamically linked\|statically linked' || echo unknown)

kib_to_mib() { awk -v k="$1" 'BEGIN {printf "%.2f", k / 1024}'; }

cat <<TABLE
| measure | value |
| --- | --- |
| binary | $(basename "$SIDECAR"), $((SIZE / 1024)) KiB, $LINK |
| VmRSS after warm-up | $(kib_to_mib "$RSS") MiB ($RSS kB) |
| VmRSS after ${IDLE}s idle | $(kib_to_mib "$RSS_AFTER") MiB ($RSS_AFTER kB) |
| RssAnon / RssFile | $ANON kB / $FILE kB |
| Pss / private (clean+dirty) | $PSS kB / $PRIV kB |
| largest mappings | $BIGGEST |
| VmHWM (peak) | $(kib_to_mib "$HWM") MiB |
| threads | $THREADS |
| CPU ticks over ${IDLE}s idle (utime+stime, ${HZ}/s) | $((T1 - T0)) |
| voluntary context switches over ${IDLE}s idle (all threads) | $((W1 - W0)) |
TABLE
