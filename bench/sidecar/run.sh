#!/usr/bin/env bash
# Benchmark of keyward-sidecar's memory and idle CPU (issue #4's targets: under 4 MiB resident
# memory in steady state, no CPU between refreshes; "a thousand bots each carry one").
#
# Runs FLEET sidecars (each its own user) against the provider simulator, lets them warm up
# (first login, status server up, a few probes of every endpoint), then reads for the first one
# /proc/<pid>/status (VmRSS, VmHWM, RssAnon, RssFile, Threads), smaps_rollup (Pss, private) and
# the utime+stime ticks and context switches over an idle interval in which no refresh is due;
# and for the whole fleet the mean Pss and mean private memory per sidecar, which is what each
# additional sidecar costs a node whose sidecars share the same binary and libraries.
#
# It also measures the floor that no program using the project's fixed libraries can go below:
# a 3-line program linked to Debian's libcpp-httplib (shared only; its OpenSSL set-up runs as
# the library loads) that creates a server and pauses.
# Prints a markdown table.
#
# usage: bench/sidecar/run.sh [BUILD_DIR] [IDLE_SECONDS] [FLEET]
set -euo pipefail

BUILD=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build}
IDLE=${2:-30}
FLEET=${3:-10}
SIDECAR=${SIDECAR_BIN:-$BUILD/sidecar/keyward-sidecar}
SIM=${SIM_BIN:-$BUILD/tests/provider_sim/keyward-provider-sim}
for b in "$SIDECAR" "$SIM"; do
  [[ -x $b ]] || { echo "missing $b: build the targets keyward-sidecar and keyward-provider-sim" >&2; exit 1; }
done
[[ $FLEET =~ ^[1-9][0-9]*$ ]] || { echo "FLEET must be a positive number, not '$FLEET'" >&2; exit 2; }

WORK=$(mktemp -d /tmp/keyward-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The library floor: an empty program that links Debian's cpp-httplib (as the sidecar must).
cat >"$WORK/floor.cc" <<'CC'
#include <httplib.h>
#include <unistd.h>
int main() { httplib::Server s; pause(); }
CC
FLOOR_RSS=""
if g++ -O2 -std=c++20 "$WORK/floor.cc" -o "$WORK/floor" -lcpp-httplib -lssl -lcrypto 2>"$WORK/floor.err"; then
  "$WORK/floor" & PIDS+=($!); FLOOR_PID=$!
  sleep 0.5
  FLOOR_RSS=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$FLOOR_PID/status")
fi

# A one-hour token: no refresh falls inside the idle interval. One user per sidecar (the
# simulator enforces Tradovate's two sessions per user) and a budget that fits the fleet.
USERS=()
for i in $(seq "$FLEET"); do USERS+=(--user "bot$i:pw-$i:8:sec-$i"); done
"$SIM" --lifetime-seconds 3600 --budget $((FLEET * 4 + 10)) "${USERS[@]}" >"$WORK/sim.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q url "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$WORK/sim.out")
[[ -n $URL ]] || { echo "the simulator did not start:"; cat "$WORK/sim.out"; exit 1; }

BASE_PORT=$((20000 + RANDOM % 20000))
SC_PIDS=()
for i in $(seq "$FLEET"); do
  KEYWARD_PASSWORD="pw-$i" KEYWARD_API_KEY="sec-$i" "$SIDECAR" run --provider tradovate \
    --endpoint "$URL/v1" --username "bot$i" --client-id 8 --app-id Bench --out "$WORK/tokens-$i" \
    --listen "127.0.0.1:$((BASE_PORT + i))" >"$WORK/sidecar-$i.log" 2>&1 &
  SC_PIDS+=($!); PIDS+=($!)
done
SC_PID=${SC_PIDS[0]}
PORT=$((BASE_PORT + 1))

# Warm-up: wait for every first token, then exercise every endpoint a few times and let an app
# read its token (last-use tracking is part of the steady state).
for i in $(seq "$FLEET"); do
  for _ in $(seq 100); do [[ -e $WORK/tokens-$i/token ]] && break; sleep 0.1; done
  [[ -e $WORK/tokens-$i/token ]] || { echo "sidecar $i: no token after 10s:"; cat "$WORK/sidecar-$i.log"; exit 1; }
  cat "$WORK/tokens-$i/token" >/dev/null
  for _ in 1 2 3; do
    for p in /readyz /healthz /metrics /v1/status; do
      curl -fsS "http://127.0.0.1:$((BASE_PORT + i))$p" >/dev/null
    done
  done
done
sleep 2

status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SC_PID/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$SC_PID/stat"; }
wakeups() { awk '/voluntary_ctxt_switches/ {s += $2} END {print s}' /proc/$SC_PID/task/*/status; }
rollup() { awk -v k="$1:" '$1 == k {print $2}' "/proc/${2:-$SC_PID}/smaps_rollup"; }

RSS=$(status VmRSS); HWM=$(status VmHWM); ANON=$(status RssAnon); FILE=$(status RssFile)
THREADS=$(status Threads)
PSS=$(rollup Pss); PRIV=$(( $(rollup Private_Clean) + $(rollup Private_Dirty) ))
BIGGEST=$(awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6} /^Rss:/{rss[name]+=$2} END{for (n in rss) print rss[n], n}' \
  "/proc/$SC_PID/smaps" | sort -rn | head -4 | awk '{n=split($2, a, "/"); printf "%s%s %d kB", sep, (a[n] == "" ? "anon" : a[n]), $1; sep=", "}')
SUM_PSS=0; SUM_PRIV=0; SUM_ANON=0
for p in "${SC_PIDS[@]}"; do
  SUM_PSS=$((SUM_PSS + $(rollup Pss "$p")))
  SUM_PRIV=$((SUM_PRIV + $(rollup Private_Clean "$p") + $(rollup Private_Dirty "$p")))
  SUM_ANON=$((SUM_ANON + $(awk '$1 == "RssAnon:" {print $2}' "/proc/$p/status")))
done
T0=$(ticks); W0=$(wakeups)
sleep "$IDLE"
T1=$(ticks); W1=$(wakeups)
RSS_AFTER=$(status VmRSS)
HZ=$(getconf CLK_TCK)
SIZE=$(stat -c %s "$SIDECAR")
LINK=$(file -b "$SIDECAR" | grep -o 'dynamically linked\|statically linked' || echo unknown)

kib_to_mib() { awk -v k="$1" 'BEGIN {printf "%.2f", k / 1024}'; }
FLOOR="not measured (no g++ or httplib headers)"
[[ -n $FLOOR_RSS ]] && FLOOR="$(kib_to_mib "$FLOOR_RSS") MiB ($FLOOR_RSS kB)"

cat <<TABLE
| measure | value |
| --- | --- |
| binary | $(basename "$SIDECAR"), $((SIZE / 1024)) KiB, $LINK |
| library floor: an empty program linked to libcpp-httplib, VmRSS | $FLOOR |
| one sidecar: VmRSS after warm-up | $(kib_to_mib "$RSS") MiB ($RSS kB) |
| one sidecar: VmRSS after ${IDLE}s idle | $(kib_to_mib "$RSS_AFTER") MiB ($RSS_AFTER kB) |
| one sidecar: RssAnon / RssFile | $ANON kB / $FILE kB |
| one sidecar: Pss / private (clean+dirty) | $PSS kB / $PRIV kB |
| one sidecar: largest mappings | $BIGGEST |
| one sidecar: VmHWM (peak) | $(kib_to_mib "$HWM") MiB |
| one sidecar: threads | $THREADS |
| fleet of $FLEET: mean Pss per sidecar | $(kib_to_mib $((SUM_PSS / FLEET))) MiB ($((SUM_PSS / FLEET)) kB) |
| fleet of $FLEET: mean private per sidecar | $(kib_to_mib $((SUM_PRIV / FLEET))) MiB ($((SUM_PRIV / FLEET)) kB) |
| fleet of $FLEET: mean RssAnon per sidecar | $((SUM_ANON / FLEET)) kB |
| CPU ticks over ${IDLE}s idle (utime+stime, ${HZ}/s) | $((T1 - T0)) |
| voluntary context switches over ${IDLE}s idle (all threads) | $((W1 - W0)) |
TABLE
