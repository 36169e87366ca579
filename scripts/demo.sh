#!/usr/bin/env bash
# Keyward demo against a local stand-in cluster (keyward-fake-apiserver), in under 2 minutes:
#   an ApiKey applied with kubectl, its Secret (masked) and status, a rotation, and the stale
#   pods' Deployment restarted by the operator.
# Run after scripts/setup.sh:   scripts/demo.sh        (builds into build/ first)
# Other sections plug in by defining demo_sidecar / demo_injection (see the marked places).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${KEYWARD_BUILD_DIR:-$ROOT/build}"
WORK="$(mktemp -d -t keyward-demo.XXXXXX)"
PIDS=()
START=$(date +%s)

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

heading() { printf '\n\033[1m== %s\033[0m  (%ss)\n' "$1" "$(( $(date +%s) - START ))"; }
note() { printf '   %s\n' "$*"; }
die() {
  printf 'demo: %s\n' "$*" >&2
  for log in "$WORK/operator.log" "$WORK/apiserver.log"; do
    [ -s "$log" ] && { printf -- '--- last lines of %s\n' "$log" >&2; tail -8 "$log" >&2; }
  done
  exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second, bounded.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || die "timed out after ${limit}s waiting for: $what"
    sleep 0.5
  done
}

# ---- Sections for the sidecar and the injection webhook. ----
demo_sidecar_targets() { echo keyward-sidecar keyward-provider-sim; }

demo_sidecar() {
  local sim="$BUILD/tests/provider_sim/keyward-provider-sim" sidecar="$BUILD/sidecar/keyward-sidecar"
  note "a Tradovate-compatible token server with 20-second tokens (the real ones live 90 minutes)"
  "$sim" --port 0 --lifetime-seconds 20 >"$WORK/sim.log" 2>&1 &
  PIDS+=($!)
  wait_for 15 "the provider simulator" grep -q '"url"' "$WORK/sim.log"
  local url
  url="$(grep -m1 -o '"url":"[^"]*"' "$WORK/sim.log" | cut -d'"' -f4)"
  note "simulator at $url; the sidecar runs standalone (direct mode), refreshing 5s before expiry"
  KEYWARD_PASSWORD=demo-password KEYWARD_API_KEY=demo-sec "$sidecar" run --mode direct \
    --provider tradovate --endpoint "$url/v1" --username demo --client-id 8 --app-id Demo \
    --out "$WORK/tokens" --listen 127.0.0.1:0 --refresh-lead-seconds 5 --lifetime-seconds 20 \
    --env-var-name TRADOVATE_ACCESS_TOKEN >"$WORK/sidecar.log" 2>&1 &
  PIDS+=($!)
  wait_for 15 "the first token" test -s "$WORK/tokens/token.json"
  note "token.json (the token itself shortened here):"
  sed -E 's/"(accessToken|mdAccessToken)":"([^"]{6})[^"]*"/"\1":"\2…"/g' "$WORK/tokens/token.json"; echo
  note "token.env is quoted so any shell can source it:"
  sed -E "s/='([^']{6})[^']*'/='\1…'/" "$WORK/tokens/token.env"
  note "waiting ~20s: the token is renewed before it expires, and the files swap atomically"
  local first
  first="$(readlink "$WORK/tokens/..data")"
  wait_for 30 "a renewed token" bash -c "[ \"\$(readlink '$WORK/tokens/..data')\" != '$first' ]"
  note "..data moved from $first to $(readlink "$WORK/tokens/..data")"
  grep -E '"delivered a new token"' "$WORK/sidecar.log" | tail -2 | sed 's/^/   /'
}

demo_injection() {
  note "keyward-operator inject -f: the webhook's own mutation, offline, on a Deployment"
  cat >"$WORK/deploy.yaml" <<'YAML'
apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata: {name: alpha-bot, namespace: bots}
spec:
  source: {generate: {prefix: nt_}}
  tokenExchange: {provider: tradovate, endpoint: "https://demo.tradovateapi.com/v1", envVarName: TRADOVATE_ACCESS_TOKEN}
status: {keyVersion: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: alpha-bot, namespace: bots}
spec:
  selector: {matchLabels: {app: alpha-bot}}
  template:
    metadata:
      labels: {app: alpha-bot}
      annotations: {keyward.dev/inject: alpha-bot}
    spec:
      containers: [{name: bot, image: "example.com/alpha-bot:1"}]
YAML
  "$OPERATOR" inject -f "$WORK/deploy.yaml" --server-version 1.30 >"$WORK/injected.yaml" \
    || die "inject failed"
  note "the injected pod template (native sidecar, memory-backed token volume, read-only mount):"
  sed -n '/kind: Deployment/,$p' "$WORK/injected.yaml" | grep -E 'keyward|medium|restartPolicy|readOnly|mountPath|image:|name:' | head -30 | sed 's/^/   /'
}

heading "Installing what the demo needs (scripts/setup.sh; quick when already installed)"
"$ROOT/scripts/setup.sh" || die "setup failed; the message above says what to fix"
command -v kubectl >/dev/null || die "kubectl not found on PATH; run scripts/setup.sh"

heading "Building keyward-operator and keyward-fake-apiserver into $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/cmake.log" 2>&1 \
  || { tail -20 "$WORK/cmake.log"; die "cmake configure failed"; }
TARGETS=(keyward-operator keyward-fake-apiserver)
if declare -F demo_sidecar_targets >/dev/null; then TARGETS+=($(demo_sidecar_targets)); fi
cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]}" >"$WORK/build.log" 2>&1 \
  || { grep -m5 -E 'error' "$WORK/build.log"; die "build failed (log: $WORK/build.log)"; }
OPERATOR="$BUILD/operator/keyward-operator"
FAKE="$BUILD/tests/fake_apiserver/keyward-fake-apiserver"
note "ok"

heading "Starting the stand-in cluster (fake API server with simulated Deployment controllers)"
export KUBECONFIG="$WORK/kubeconfig"
"$FAKE" --port 0 --tls-dir "$WORK/tls" --crds "$ROOT/crds" --simulate-controllers \
  --kubeconfig-out "$KUBECONFIG" \
  >"$WORK/apiserver.log" 2>&1 &
PIDS+=($!)
wait_for 15 "the fake API server's kubeconfig" test -s "$KUBECONFIG"
wait_for 15 "the API server to answer" kubectl get namespaces
note "$(grep -m1 '"url"' "$WORK/apiserver.log" || true)"

heading "kubectl apply: a namespace, an ApiKey rotating every 60s (the CRD minimum), and a bot Deployment"
kubectl apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: bots}
---
apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata: {name: alpha-bot, namespace: bots}
spec:
  displayName: "Alpha bot, CME futures (demo)"
  source:
    generate: {prefix: "nt_", length: 40, alphabet: base62}
  rotation:
    intervalSeconds: 60
    gracePeriodSeconds: 30
  consumers:
    workloadRef: {kind: Deployment, name: alpha-bot}
    restartStrategy: RolloutRestart
    maxUnavailable: 1
  tokenExchange: {provider: none}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: alpha-bot, namespace: bots}
spec:
  replicas: 2
  selector: {matchLabels: {app: alpha-bot}}
  template:
    metadata:
      labels: {app: alpha-bot, keyward.dev/apikey: alpha-bot}
      annotations: {keyward.dev/inject: alpha-bot, keyward.dev/key-version: "1"}
    spec:
      containers: [{name: bot, image: "example.com/alpha-bot:1"}]
YAML

heading "Starting keyward-operator"
"$OPERATOR" run --namespace bots --leader-elect=true --lease-namespace bots \
  --metrics-listen 127.0.0.1:0 >"$WORK/operator.log" 2>&1 &
PIDS+=($!)
secret_version() {
  kubectl -n bots get secret keyward-alpha-bot \
    -o jsonpath='{.metadata.annotations.keyward\.dev/key-version}' 2>/dev/null
}
has_secret() { [ -n "$(secret_version)" ]; }
wait_for 30 "the operator to create Secret keyward-alpha-bot" has_secret
wait_for 30 "the ApiKey status" bash -c \
  "kubectl -n bots get apikey alpha-bot -o jsonpath='{.status.keyVersion}' | grep -q ."

heading "The Secret the operator owns (key material masked: only the hint is shown)"
kubectl -n bots get secret keyward-alpha-bot \
  -o jsonpath='{"name: "}{.metadata.name}{"\nowner: "}{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}{"\nkey-version: "}{.metadata.annotations.keyward\.dev/key-version}{"\ncontent-hash: "}{.metadata.annotations.keyward\.dev/content-hash}{"\ndata keys: "}{.data}{"\n"}' \
  | sed -E 's/"(apiKey|previousApiKey)":"[^"]*"/"\1":"<redacted>"/g'
note "key hint: $(kubectl -n bots get apikey alpha-bot -o jsonpath='{.status.keyHint}')"

heading "ApiKey status and kubectl get apikeys"
kubectl -n bots get apikey alpha-bot -o jsonpath='{.status}' | sed 's/,"/,\n  "/g'; echo
kubectl -n bots get apikeys

heading "Pods before the rotation"
kubectl -n bots get pods -o custom-columns='NAME:.metadata.name,KEY-VERSION:.metadata.annotations.keyward\.dev/key-version'
BEFORE="$(kubectl -n bots get pods -o jsonpath='{.items[*].metadata.name}')"

heading "Waiting for the scheduled rotation (intervalSeconds: 60)"
wait_for 80 "key version 2" bash -c "[ \"\$(kubectl -n bots get secret keyward-alpha-bot -o jsonpath='{.metadata.annotations.keyward\.dev/key-version}')\" -ge 2 ]"
note "Secret now at key version $(secret_version); previous key kept for the 30s grace period"
kubectl -n bots get apikeys

heading "The stale pods' Deployment is restarted (rollout restart, as kubectl does it)"
wait_for 30 "the restartedAt annotation" bash -c \
  "kubectl -n bots get deployment alpha-bot -o jsonpath='{.spec.template.metadata.annotations}' | grep -q restartedAt"
kubectl -n bots get deployment alpha-bot \
  -o jsonpath='{"restartedAt: "}{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}{"\nrestarted-for-version: "}{.metadata.annotations.keyward\.dev/restarted-for-version}{"\n"}'
wait_for 30 "new pods" bash -c "[ \"\$(kubectl -n bots get pods -o jsonpath='{.items[*].metadata.name}')\" != \"$BEFORE\" ]"
note "pods before: $BEFORE"
note "pods after:  $(kubectl -n bots get pods -o jsonpath='{.items[*].metadata.name}')"
kubectl -n bots get events -o custom-columns='TYPE:.type,REASON:.reason,COUNT:.count,MESSAGE:.message' 2>/dev/null | tail -6 || true

# ---- Sidecar section ----
if declare -F demo_sidecar >/dev/null; then heading "Sidecar"; demo_sidecar; fi
# ---- Injection section (webhook engineer): define demo_injection to run it here. ----
if declare -F demo_injection >/dev/null; then heading "Injection"; demo_injection; fi

heading "Checking that no key material reached the operator's logs"
KEYS_SEEN=0
for field in apiKey previousApiKey; do
  value="$(kubectl -n bots get secret keyward-alpha-bot -o jsonpath="{.data.$field}" | base64 -d 2>/dev/null || true)"
  if [ -n "$value" ] && grep -qF "$value" "$WORK/operator.log"; then KEYS_SEEN=1; fi
done
[ "$KEYS_SEEN" = 0 ] && note "none found" || die "a key appeared in the operator log"

heading "Done (everything started by this script is stopped on exit)"
