#!/usr/bin/env bash
# The admission webhook over TLS against nginx, and the Kubernetes client's requests per second
# with and without kept-alive connections. Prints the markdown tables for docs/benchmarks.md.
#   bench/webhook/run.sh            (DURATION=10 seconds per wrk run, CONNECTIONS=4)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-4}

scripts/setup.sh --bench >/dev/null
[[ -f "$BUILD_DIR/CMakeCache.txt" ]] || cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "bench: building the benchmarks" >&2
cmake --build "$BUILD_DIR" --target keyward-bench-webhook keyward-bench-kube-client -j "$(nproc)" >/dev/null
HOOK="$BUILD_DIR/bench/webhook/keyward-bench-webhook"
KUBE="$BUILD_DIR/bench/kube_client/keyward-bench-kube-client"

work=$(mktemp -d)
pids=()
holds=()
cleanup() {
  for fd in "${holds[@]}"; do exec {fd}>&-; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# Starts the webhook (extra flags in $@) in $work/$name, waits for its port; sets PORT.
start_webhook() {
  local name=$1; shift
  mkfifo "$work/$name.hold"
  "$HOOK" --dir "$work/$name" "$@" serve <"$work/$name.hold" >"$work/$name.port" &
  pids+=($!)
  local hold
  exec {hold}>"$work/$name.hold"  # keeps its stdin open until cleanup closes it
  holds+=("$hold")
  for _ in $(seq 1 200); do [[ -s "$work/$name.port" ]] && break; sleep 0.05; done
  [[ -s "$work/$name.port" ]] || { echo "bench: the webhook '$name' did not start" >&2; exit 1; }
  PORT=$(field "$(cat "$work/$name.port")" port)
}

wrk_run() {  # URL REVIEW_FILE -> the JSON line of post.lua
  REVIEW=$2 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/webhook/post.lua "$1" | tail -1
}

echo "bench: Kubernetes client requests per second (5 s each way)" >&2
kube=$("$KUBE" 5)

echo "bench: webhook reading the caches (as keyward-operator runs it), wrk ${DURATION}s" >&2
start_webhook hook
hook_port=$PORT
hook=$(wrk_run "https://127.0.0.1:$hook_port/mutate-pods" "$work/hook/review.json")

echo "bench: webhook paced at 500 requests per second for 10 s" >&2
paced=$("$HOOK" --dir "$work/paced" paced 500 10) ||
  echo "bench: not every paced review was answered with a patch (see the table)" >&2

echo "bench: webhook reading ApiKey and Namespace from the API (kept-alive), wrk ${DURATION}s" >&2
start_webhook nocache --no-caches
nocache=$(wrk_run "https://127.0.0.1:$PORT/mutate-pods" "$work/nocache/review.json")

echo "bench: webhook as before: two GETs per admission, one connection each, wrk ${DURATION}s" >&2
start_webhook before --no-caches --connection-per-request
before=$(wrk_run "https://127.0.0.1:$PORT/mutate-pods" "$work/before/review.json")

echo "bench: nginx, one worker, static answer of the same size over TLS, wrk ${DURATION}s" >&2
nginx_port=$(free_port)
mkdir -p "$work/nginx/html" "$work/nginx/logs"
cp "$work/hook/answer.json" "$work/nginx/html/mutate-pods"
# nginx's worker drops root for nobody: it must be able to read the answer.
chmod a+rx "$work" "$work/nginx" "$work/nginx/html"
chmod a+r "$work/nginx/html/mutate-pods"
# A POST to a static file is 405 in nginx; error_page turns it into the file with 200.
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/hook/tls.crt;
    ssl_certificate_key $work/hook/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $work/nginx/html;
    default_type application/json;
    error_page 405 =200 \$uri;
  }
}
CONF
nginx -p "$work/nginx" -e "$work/nginx/logs/error.log" -c "$work/nginx/nginx.conf" &
pids+=($!)
for _ in $(seq 1 100); do [[ -s "$work/nginx/nginx.pid" ]] && break; sleep 0.05; done
if [[ ! -s "$work/nginx/nginx.pid" ]]; then
  echo "bench: nginx did not start:" >&2
  cat "$work/nginx/logs/error.log" >&2 || true
  exit 1
fi
nginx_result=$(wrk_run "https://127.0.0.1:$nginx_port/mutate-pods" "$work/hook/review.json")
nginx_bytes=$(curl -sk --data-binary @"$work/hook/review.json" "https://127.0.0.1:$nginx_port/mutate-pods" | wc -c)

python3 - "$kube" "$hook" "$paced" "$before" "$nginx_result" "$nocache" "$nginx_bytes" "$(wc -c <"$work/hook/answer.json")" \
  "$CONNECTIONS" "$DURATION" <<'PY'
import json, sys, os, platform
kube, hook, paced, before, ngx, nocache = (json.loads(a) for a in sys.argv[1:7])
ngx_bytes, hook_bytes, conns, secs = sys.argv[7:11]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Machine: {os.cpu_count()} cores ({cpu}), Linux {platform.release()}; wrk -t1 -c{conns} -d{secs}s, "
      f"TLS on loopback; answer {hook_bytes} bytes (nginx {ngx_bytes}).\n")
print("| measure | Keyward | baseline (same run) | ratio | target |")
print("| --- | --- | --- | --- | --- |")
ratio = hook["rps"] / ngx["rps"]
print(f"| webhook requests/s (wrk) | {hook['rps']:.0f} | nginx, 1 worker, static answer: {ngx['rps']:.0f} | "
      f"{ratio:.2f}x | at least 0.5x: {'met' if ratio >= 0.5 else f'missed by {0.5 / ratio:.1f}x'} |")
print(f"| webhook p50 / p99 under wrk (ms) | {hook['p50_ms']:.2f} / {hook['p99_ms']:.2f} | nginx: "
      f"{ngx['p50_ms']:.2f} / {ngx['p99_ms']:.2f} | | |")
ok = paced["p99_ms"] < 2 and paced["patched"] == paced["sent"]
print(f"| webhook p50 / p99 at 500 requests/s, 10 s (ms) | {paced['p50_ms']:.2f} / {paced['p99_ms']:.2f} "
      f"({paced['patched']} of {paced['sent']} patched) | | | p99 under 2 ms: "
      f"{'met' if ok else 'missed by %.2f ms' % (paced['p99_ms'] - 2)} |")
print(f"| webhook requests/s, ApiKey and Namespace read from the API (kept-alive) | {nocache['rps']:.0f} | "
      f"from the caches (above): {hook['rps']:.0f} | {hook['rps'] / nocache['rps']:.1f}x faster from the caches | |")
print(f"| webhook requests/s as before this work (two GETs, one connection each) | {before['rps']:.0f} | "
      f"now (above): {hook['rps']:.0f} | {hook['rps'] / before['rps']:.0f}x faster now | |")
r = kube["keep_alive_rps"] / kube["connection_per_request_rps"]
print(f"| Kubernetes client GETs/s, one client, TLS | {kube['keep_alive_rps']:.0f} | one connection per "
      f"request: {kube['connection_per_request_rps']:.0f} | {r:.0f}x | at least 500/s: "
      f"{'met' if kube['keep_alive_rps'] >= 500 else 'missed'} |")
print(f"| CPU per GET, client and server (ms) | {kube['keep_alive_cpu_ms_per_request']:.2f} | one connection "
      f"per request: {kube['connection_per_request_cpu_ms_per_request']:.1f} | | |")
errors = hook["errors"] + ngx["errors"] + before["errors"] + nocache["errors"]
if errors:
    print(f"\nwrk counted {errors} errors (non-2xx or socket errors): the numbers above are not valid.")
    sys.exit(1)
PY
