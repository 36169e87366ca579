#!/usr/bin/env bash
# Keyward demo against a local stand-in cluster (keyward-fake-apiserver), in about 2 minutes:
#   an ApiKey and its Deployment applied together with kubectl, its Secret (masked) and status,
#   the pods' sidecars reporting the key version they delivered (no restart), a rotation, and the
#   stale pods' Deployment restarted once by the operator, then a held pod surviving the next
#   rotation while its unheld sibling moves; a standalone sidecar; the token broker (three
#   broker-mode sidecars sharing one upstream login); an offline injection.
# Run after scripts/setup.sh:   scripts/demo.sh        (builds into build/ first)
# Other sections plug in by defining demo_sidecar / demo_broker / demo_injection (see the
# marked places).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${KEYWARD_BUILD_DIR:-$ROOT/build}"
# ccache hits across clones in other folders, as scripts/test.sh does.
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
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
  for log in "$WORK/operator.log" "$WORK/apiserver.log" "$WORK/sidecar-broker-0.log"; do
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

# ---- Token broker section: the operator holds one upstream session per ApiKey; sidecars in
# broker mode fetch the token from it (the recipe of tests/broker/broker_e2e_test.cc). ----
demo_broker_targets() { echo keyward-sidecar keyward-provider-sim; }

b64() { printf %s "$1" | base64 | tr -d '\n'; }

# Bound service account tokens the stand-in's TokenReview accepts (--token-identities, re-read
# at every review): one per pod, for the broker's audience, as the webhook projects them.
declare -A IDENTITIES=()
# add_pod_identity POD UID: mints a token for the pod, registers it, prints the token's file.
add_pod_identity() {
  local pod=$1 uid=$2 sa file
  sa="eyJhbGciOiJSUzI1NiJ9.demo-sa-$(openssl rand -hex 16).sig"
  BROKER_SECRETS+=("$sa")
  file="$WORK/sa-token-$pod"
  printf %s "$sa" >"$file"
  chmod 600 "$file"
  IDENTITIES[$sa]="{\"username\": \"system:serviceaccount:bots:bot\", \"uid\": \"sa-uid-bots-bot\","
  IDENTITIES[$sa]+=" \"groups\": [\"system:serviceaccounts\", \"system:serviceaccounts:bots\", \"system:authenticated\"],"
  IDENTITIES[$sa]+=" \"extra\": {\"authentication.kubernetes.io/pod-name\": [\"$pod\"],"
  IDENTITIES[$sa]+=" \"authentication.kubernetes.io/pod-uid\": [\"$uid\"],"
  IDENTITIES[$sa]+=" \"authentication.kubernetes.io/node-name\": [\"fake-node\"],"
  IDENTITIES[$sa]+=" \"authentication.kubernetes.io/credential-id\": [\"JTI=$uid-jti\"]},"
  IDENTITIES[$sa]+=" \"audiences\": [\"keyward.dev/broker\"]}"
  local out="{" sep="" key
  for key in "${!IDENTITIES[@]}"; do out+="$sep\"$key\": ${IDENTITIES[$key]}"; sep=", "; done
  printf '%s}\n' "$out" >"$WORK/token-identities.json.new"
  mv "$WORK/token-identities.json.new" "$WORK/token-identities.json"
  echo "$file"
}
# Every secret the broker section creates or sees, for the final check of what was printed.
BROKER_SECRETS=()

# Before the operator starts: a throw-away CA and a localhost certificate (served by the broker
# and by the simulator), the HTTPS provider simulator, and the operator's broker flags.
demo_broker_setup() {
  local pki="$WORK/broker-pki" sim="$BUILD/tests/provider_sim/keyward-provider-sim"
  mkdir -p "$pki"
  ( cd "$pki" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
      -subj /CN=keyward-demo-ca -keyout ca.key -out ca.crt &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
      -keyout tls.key -out tls.csr &&
    printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
      'extendedKeyUsage=serverAuth' >ext.cnf &&
    openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
      -extfile ext.cnf -out tls.crt ) >"$WORK/openssl.log" 2>&1 \
    || { tail -5 "$WORK/openssl.log" >&2; die "openssl could not make the demo certificates (it needs OpenSSL 1.1.1 or newer on PATH)"; }
  BROKER_CA="$pki/ca.crt"
  # A Tradovate login made up for this run (the simulator knows it; nothing here is real).
  BROKER_USER=beta-trader
  BROKER_PASSWORD="pw-$(openssl rand -hex 12)"
  BROKER_KEY="nt_$(openssl rand -hex 16)"
  BROKER_SECRETS+=("$BROKER_PASSWORD" "$BROKER_KEY")
  "$sim" --port 0 --lifetime-seconds 20 --tls-cert "$pki/tls.crt" --tls-key "$pki/tls.key" \
    --user "$BROKER_USER:$BROKER_PASSWORD:8:$BROKER_KEY" >"$WORK/sim-broker.log" 2>&1 &
  PIDS+=($!)
  wait_for 15 "the HTTPS provider simulator (log: $WORK/sim-broker.log)" grep -q '"url"' "$WORK/sim-broker.log"
  BROKER_SIM_URL="$(grep -m1 -o '"url":"[^"]*"' "$WORK/sim-broker.log" | cut -d'"' -f4)"
  echo '{}' >"$WORK/token-identities.json"
  # A key-encryption key: key material is sealed at rest with AES-256-GCM (docs/sealing.md).
  mkdir -p "$WORK/kek"
  openssl rand -base64 32 >"$WORK/kek/k1"
  BROKER_OPERATOR_FLAGS=(--broker-listen 127.0.0.1:0 --broker-cert-file "$pki/tls.crt"
    --broker-key-file "$pki/tls.key" --kek-dir "$WORK/kek")
  # The operator trusts the demo CA for the provider through OpenSSL's default store.
  BROKER_OPERATOR_ENV=("SSL_CERT_FILE=$BROKER_CA")
  note "a throw-away CA and a localhost certificate (openssl, in the demo's work dir)"
  note "a provider simulator over HTTPS with 20-second tokens at $BROKER_SIM_URL"
  note "a key-encryption key in $WORK/kek (the chart creates one in a Secret): keys are sealed at rest"
}

# The simulator's counters (GET /_sim/stats, HTTPS; openssl s_client, since setup.sh installs
# openssl but not curl), then one of the demo user's: sim_count accessTokenRequests
sim_stats() {
  printf 'GET /_sim/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' \
    | openssl s_client -quiet -verify_return_error -CAfile "$BROKER_CA" \
        -connect "${BROKER_SIM_URL#https://}" 2>/dev/null | grep '"users"'
}
sim_count() {
  sim_stats | grep -o "\"$BROKER_USER\":{[^}]*}" | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}
# token.json field of sidecar N: token_field N accessToken
token_field() {
  grep -o "\"$2\":\"\\{0,1\\}[^\",}]*" "$WORK/broker-tokens-$1/token.json" 2>/dev/null \
    | sed -n 1p | cut -d: -f2- | tr -d '"'
}
all_valid() {
  local i
  for i in 0 1 2; do [ "$(token_field "$i" state)" = Valid ] || return 1; done
}
all_renewed() {
  local i
  all_valid || return 1
  [ "$(sim_count renewals)" -ge 1 ] || return 1
  for i in 0 1 2; do [ "$(token_field "$i" accessToken)" != "${FIRST_TOKENS[$i]}" ] || return 1; done
}
show_tokens() {
  local i
  for i in 0 1 2; do
    note "$(printf 'beta-bot-%s: state %s, keyVersion %s, token %.10s…, expires %s' "$i" \
      "$(token_field "$i" state)" "$(token_field "$i" keyVersion)" \
      "$(token_field "$i" accessToken)" "$(token_field "$i" expirationTime)")"
  done
}
show_counts() {
  note "provider simulator, user $BROKER_USER: logins (access token requests) $(sim_count accessTokenRequests), renewals $(sim_count renewals), live sessions $(sim_count liveSessions)"
}

demo_broker() {
  local port i uid sa
  note "Tradovate allows 2 sessions per user and ~5 token requests an hour per IP: the operator"
  note "logs in ONCE per ApiKey and serves the token to every sidecar of that key over HTTPS."
  note "broker at $BROKER_URL (keyward-operator run --broker-listen 127.0.0.1:0 --broker-cert-file … --broker-key-file …)"
  note "kubectl apply: ApiKey beta-bot (tokenExchange tradovate), its key Secret and login Secret"
  kubectl apply -f - <<YAML | sed 's/^/   /'
apiVersion: v1
kind: Secret
metadata: {name: beta-source, namespace: bots}
type: Opaque
data: {apiKey: $(b64 "$BROKER_KEY")}
---
apiVersion: v1
kind: Secret
metadata: {name: beta-login, namespace: bots}
type: Opaque
data: {username: $(b64 "$BROKER_USER"), password: $(b64 "$BROKER_PASSWORD"), clientId: $(b64 8)}
---
apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata: {name: beta-bot, namespace: bots}
spec:
  displayName: "Beta bot, Tradovate (demo)"
  source: {secretRef: {name: beta-source}}
  consumers: {restartStrategy: None}
  tokenExchange:
    provider: tradovate
    endpoint: "$BROKER_SIM_URL/v1"
    refreshLeadSeconds: 5
    credentialsSecretRef: {name: beta-login}
    tradovate: {appId: Demo}
YAML
  logged_in() { [ -n "$(sim_count accessTokenRequests)" ]; }
  wait_for 30 "the broker's upstream login for beta-bot (log: $WORK/operator.log)" logged_in
  grep -m1 '"upstream session started"' "$WORK/operator.log" | sed 's/^/   /'
  show_counts

  note "three pods annotated keyward.dev/inject: beta-bot, each with a bound service account token"
  note "(projected for the broker's audience keyward.dev/broker, as the webhook mounts it, and"
  note "registered with the fake API server's TokenReview through --token-identities)"
  for i in 0 1 2; do
    kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: beta-bot-$i
  namespace: bots
  annotations: {keyward.dev/inject: beta-bot}
spec:
  serviceAccountName: bot
  containers: [{name: bot, image: "example.com/beta-bot:1"}]
YAML
    uid="$(kubectl -n bots get pod "beta-bot-$i" -o jsonpath='{.metadata.uid}')"
    [ -n "$uid" ] || die "pod beta-bot-$i was not created; see $WORK/apiserver.log"
    add_pod_identity "beta-bot-$i" "$uid" >/dev/null
  done
  kubectl -n bots get pods beta-bot-0 beta-bot-1 beta-bot-2 \
    -o custom-columns='NAME:.metadata.name,INJECT:.metadata.annotations.keyward\.dev/inject,SERVICE-ACCOUNT:.spec.serviceAccountName' | sed 's/^/   /'

  note "three keyward-sidecar run --mode broker, one per pod, each with its own token directory"
  for i in 0 1 2; do
    "$BUILD/sidecar/keyward-sidecar" run --mode broker --broker-url "$BROKER_URL" \
      --apikey beta-bot --namespace bots --ca-file "$BROKER_CA" \
      --service-account-token-file "$WORK/sa-token-beta-bot-$i" --out "$WORK/broker-tokens-$i" \
      --listen off --refresh-lead-seconds 2 >"$WORK/sidecar-broker-$i.log" 2>&1 &
    PIDS+=($!)
  done
  wait_for 30 "a token in every broker-mode sidecar (logs: $WORK/sidecar-broker-*.log)" all_valid
  show_tokens
  FIRST_TOKENS=()
  for i in 0 1 2; do
    FIRST_TOKENS+=("$(token_field "$i" accessToken)")
    BROKER_SECRETS+=("${FIRST_TOKENS[$i]}" "$(token_field "$i" mdAccessToken)")
  done
  show_counts
  [ "$(sim_count accessTokenRequests)" = 1 ] \
    || die "expected exactly one upstream login for three sidecars; see $WORK/operator.log"
  note "three sidecars, one login: the broker served them all from its one session"

  note "waiting ~20s: the broker renews its session 5s before expiry, and the sidecars pick the"
  note "renewed token up at their own refresh (2s before expiry), without logging in again"
  wait_for 40 "a broker renewal in every sidecar (logs: $WORK/sidecar-broker-*.log)" all_renewed
  show_tokens
  for i in 0 1 2; do BROKER_SECRETS+=("$(token_field "$i" accessToken)"); done
  grep '"delivered a new token"' "$WORK/sidecar-broker-0.log" | tail -1 | sed 's/^/   beta-bot-0: /'
  show_counts
  [ "$(sim_count accessTokenRequests)" = 1 ] \
    || die "the renewal caused a second upstream login; see $WORK/operator.log"
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
  sed -n '/kind: Deployment/,$p' "$WORK/injected.yaml" | grep -E 'keyward|medium|restartPolicy|readOnly|mountPath|image:|name:' | sed -n 1,30p | sed 's/^/   /'
}

heading "Installing what the demo needs (scripts/setup.sh; quick when already installed)"
"$ROOT/scripts/setup.sh" || die "setup failed; the message above says what to fix"
export PATH="$ROOT/.tools/bin:$PATH"  # helm as setup.sh installs it
command -v kubectl >/dev/null || die "kubectl not found on PATH; run scripts/setup.sh"

heading "Building keyward-operator and keyward-fake-apiserver into $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/cmake.log" 2>&1 \
  || { tail -20 "$WORK/cmake.log"; die "cmake configure failed"; }
TARGETS=(keyward-operator keyward-fake-apiserver)
if declare -F demo_sidecar_targets >/dev/null; then TARGETS+=($(demo_sidecar_targets)); fi
if declare -F demo_broker_targets >/dev/null; then TARGETS+=($(demo_broker_targets)); fi
mapfile -t TARGETS < <(printf '%s\n' "${TARGETS[@]}" | sort -u)
cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]}" >"$WORK/build.log" 2>&1 \
  || { grep -m5 -E 'error' "$WORK/build.log"; die "build failed (log: $WORK/build.log)"; }
OPERATOR="$BUILD/operator/keyward-operator"
# The kubectl plugin (kubectl keyward ...): keyward-operator under the name kubectl-keyward,
# found by kubectl on PATH.
export PATH="$BUILD/operator:$PATH"
FAKE="$BUILD/tests/fake_apiserver/keyward-fake-apiserver"
note "ok"

BROKER_OPERATOR_FLAGS=() BROKER_OPERATOR_ENV=() FAKE_FLAGS=()
if declare -F demo_broker >/dev/null; then
  heading "Preparing the token broker: certificates and an HTTPS provider simulator"
  demo_broker_setup
  FAKE_FLAGS+=(--token-identities "$WORK/token-identities.json")
fi

heading "Starting the stand-in cluster (fake API server with simulated Deployment controllers)"
export KUBECONFIG="$WORK/kubeconfig"
"$FAKE" --port 0 --tls-dir "$WORK/tls" --crds "$ROOT/crds" --simulate-controllers \
  --kubeconfig-out "$KUBECONFIG" "${FAKE_FLAGS[@]}" \
  >"$WORK/apiserver.log" 2>&1 &
PIDS+=($!)
wait_for 15 "the fake API server's kubeconfig" test -s "$KUBECONFIG"
wait_for 15 "the API server to answer" kubectl get namespaces
note "$(grep -m1 '"url"' "$WORK/apiserver.log" || true)"

heading "kubectl apply, in ONE apply (the GitOps case): a namespace, an ApiKey rotating every 60s (the CRD minimum), and its bot Deployment"
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
    gracePeriodSeconds: 90
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
      labels: {app: alpha-bot}
      annotations: {keyward.dev/inject: alpha-bot}
    spec:
      serviceAccountName: bot
      containers: [{name: bot, image: "example.com/alpha-bot:1"}]
YAML
note "the pods exist before the operator has written any key: none carries a key version"

heading "Starting keyward-operator"
env "${BROKER_OPERATOR_ENV[@]}" "$OPERATOR" run --namespace bots --leader-elect=true \
  --lease-namespace bots --metrics-listen 127.0.0.1:0 "${BROKER_OPERATOR_FLAGS[@]}" \
  >"$WORK/operator.log" 2>&1 &
PIDS+=($!)
wait_for 30 "the operator's broker to listen (log: $WORK/operator.log)" \
  grep -q '"broker server listening"' "$WORK/operator.log"
BROKER_URL="https://127.0.0.1:$(grep -m1 '"broker server listening"' "$WORK/operator.log" | grep -o '"port":[0-9]*' | cut -d: -f2)"
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
sealed="$(kubectl -n bots get secret keyward-alpha-bot -o jsonpath='{.data.apiKey}' | base64 -d | cut -c1-28)"
case "$sealed" in
  kw1.*) note "data.apiKey is sealed: ${sealed}… (AES-256-GCM under KEK k1; only the operator's memory opens it)" ;;
  *) note "data.apiKey is stored unsealed (no --kek-dir)" ;;
esac

heading "ApiKey status and kubectl get apikeys"
kubectl -n bots get apikey alpha-bot -o jsonpath='{.status}' | sed 's/,"/,\n  "/g'; echo
kubectl -n bots get apikeys

heading "Which key version each pod runs: what its sidecar delivered, recorded by the operator"
alpha_pods() { kubectl -n bots get pods -l app=alpha-bot -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }
show_alpha_pods() {
  kubectl -n bots get pods -l app=alpha-bot \
    -o custom-columns='NAME:.metadata.name,KEY-VERSION:.metadata.annotations.keyward\.dev/key-version' | sed 's/^/   /'
}
show_alpha_pods
note "consumers: $(kubectl -n bots get apikey alpha-bot -o jsonpath='{.status.consumers}') (pending: no key delivered yet, never restarted)"
# One direct-mode sidecar (provider none: the key itself is delivered) per pod that has none:
# its key files are what the kubelet would project from the key Secret (apiKey, keyVersion);
# after its first delivery it reports the version to the operator's broker.
declare -A ALPHA_SIDECARS=()
start_alpha_sidecars() {
  local pod uid sa
  for pod in $(alpha_pods); do
    [ -n "${ALPHA_SIDECARS[$pod]:-}" ] && continue
    uid="$(kubectl -n bots get pod "$pod" -o jsonpath='{.metadata.uid}')"
    sa="$(add_pod_identity "$pod" "$uid")"
    # The key Secret is sealed, so it is not mounted: the sidecar takes the key from the broker.
    "$BUILD/sidecar/keyward-sidecar" run --mode direct --provider none --apikey alpha-bot \
      --namespace bots --key-from-broker --recheck-seconds 2 --out "$WORK/alpha-tokens-$pod" --listen off \
      --report-url "$BROKER_URL" --report-ca-file "$BROKER_CA" --service-account-token-file "$sa" \
      >"$WORK/sidecar-$pod.log" 2>&1 &
    PIDS+=($!)
    ALPHA_SIDECARS[$pod]=$!
  done
}
# Sidecars whose pod is gone (replaced by the rollout) stop with it.
stop_gone_alpha_sidecars() {
  local pod live
  live=" $(alpha_pods | tr '\n' ' ') "
  for pod in "${!ALPHA_SIDECARS[@]}"; do
    case "$live" in *" $pod "*) ;; *) kill "${ALPHA_SIDECARS[$pod]}" 2>/dev/null || true; unset "ALPHA_SIDECARS[$pod]" ;; esac
  done
}
# every_alpha_pod_on N: every live pod has key version N recorded.
every_alpha_pod_on() {
  local pod
  for pod in $(alpha_pods); do
    [ "$(kubectl -n bots get pod "$pod" -o jsonpath='{.metadata.annotations.keyward\.dev/key-version}')" = "$1" ] || return 1
  done
}
note "starting one keyward-sidecar (direct mode, provider none, --report-url the broker) per pod"
start_alpha_sidecars
wait_for 30 "every pod's sidecar to report key version 1 (logs: $WORK/sidecar-alpha-bot-*.log)" every_alpha_pod_on 1
show_alpha_pods
BEFORE="$(alpha_pods | tr '\n' ' ')"
wait_for 15 "the status to count them" bash -c \
  "kubectl -n bots get apikey alpha-bot -o jsonpath='{.status.consumers.upToDate}' | grep -qx 2"
note "consumers: $(kubectl -n bots get apikey alpha-bot -o jsonpath='{.status.consumers}')"
note "applied together, and no pod restarted: the Deployment has no restartedAt ($(kubectl -n bots get deployment alpha-bot -o jsonpath='{.spec.template.metadata.annotations}' | grep -c restartedAt || true) found)"

heading "Waiting for the scheduled rotation (intervalSeconds: 60)"
wait_for 80 "key version 2" bash -c "[ \"\$(kubectl -n bots get secret keyward-alpha-bot -o jsonpath='{.metadata.annotations.keyward\.dev/key-version}')\" -ge 2 ]"
note "Secret now at key version $(secret_version); previous key kept for the 90s grace period"
kubectl -n bots get apikeys

heading "The stale pods' Deployment is restarted (rollout restart, as kubectl does it)"
wait_for 30 "the restartedAt annotation" bash -c \
  "kubectl -n bots get deployment alpha-bot -o jsonpath='{.spec.template.metadata.annotations}' | grep -q restartedAt"
kubectl -n bots get deployment alpha-bot \
  -o jsonpath='{"restartedAt: "}{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}{"\nrestarted-for-version: "}{.metadata.annotations.keyward\.dev/restarted-for-version}{"\n"}'
new_alpha_pods() { [ "$(alpha_pods | tr '\n' ' ')" != "$BEFORE" ] && [ "$(alpha_pods | wc -l)" = 2 ]; }
wait_for 30 "new pods" new_alpha_pods
ROLLOUT="$(kubectl -n bots get deployment alpha-bot -o jsonpath='{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}')"
note "pods before: $BEFORE"
note "pods after:  $(alpha_pods | tr '\n' ' ')"
stop_gone_alpha_sidecars
start_alpha_sidecars
wait_for 30 "the new pods' sidecars to report key version 2" every_alpha_pod_on 2
show_alpha_pods
AFTER="$(alpha_pods | tr '\n' ' ')"
sleep 3  # a window in which a wrong second restart would show
[ "$(alpha_pods | tr '\n' ' ')" = "$AFTER" ] && [ "$(kubectl -n bots get deployment alpha-bot -o jsonpath='{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}')" = "$ROLLOUT" ] \
  || die "the new pods were restarted a second time; see $WORK/operator.log"
note "the new pods started on key version 2 and were not restarted again"

heading "A held pod (open positions) survives the next rotation; its unheld sibling moves"
HELD="$(alpha_pods | sed -n 1p)"
SIBLING="$(alpha_pods | tail -1)"
note "kubectl keyward hold $HELD -n bots --reason 'open positions'  (a bot sets keyward.dev/hold itself)"
kubectl keyward hold "$HELD" -n bots --reason "open positions" | sed 's/^/   /' \
  || die "kubectl keyward hold failed"
wait_for 80 "key version 3" bash -c "[ \"\$(kubectl -n bots get secret keyward-alpha-bot -o jsonpath='{.metadata.annotations.keyward\.dev/key-version}')\" -ge 3 ]"
sibling_replaced() { ! alpha_pods | grep -qx "$SIBLING" && [ "$(alpha_pods | wc -l)" = 2 ]; }
wait_for 30 "the unheld sibling to be evicted and replaced" sibling_replaced
stop_gone_alpha_sidecars
start_alpha_sidecars
held_and_moved() {
  alpha_pods | grep -qx "$HELD" || return 1
  local pod
  for pod in $(alpha_pods); do
    [ "$pod" = "$HELD" ] && continue
    [ "$(kubectl -n bots get pod "$pod" -o jsonpath='{.metadata.annotations.keyward\.dev/key-version}')" = 3 ] || return 1
  done
}
wait_for 30 "the sibling's replacement to report key version 3" held_and_moved
show_alpha_pods
note "consumers: $(kubectl -n bots get apikey alpha-bot -o jsonpath='{.status.consumers}'), holds: $(kubectl -n bots get apikey alpha-bot -o jsonpath='{.status.holds}')"
[ "$(kubectl -n bots get deployment alpha-bot -o jsonpath='{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}')" = "$ROLLOUT" ] \
  || die "the Deployment was rolled although a pod held; see $WORK/operator.log"
note "$HELD still runs key version 2 with its positions; no rollout (it would replace the held pod)"
note "kubectl keyward status alpha-bot -n bots"
kubectl keyward status alpha-bot -n bots | sed 's/^/   /' || die "kubectl keyward status failed"
note "kubectl keyward explain alpha-bot -n bots  (why the pod is not restarted now)"
kubectl keyward explain alpha-bot -n bots | sed 's/^/   /' || die "kubectl keyward explain failed"
note "positions closed: kubectl keyward release $HELD -n bots"
kubectl keyward release "$HELD" -n bots | sed 's/^/   /' || die "kubectl keyward release failed"
held_gone() { ! alpha_pods | grep -qx "$HELD" && [ "$(alpha_pods | wc -l)" = 2 ]; }
wait_for 30 "the released pod to move to the new key" held_gone
stop_gone_alpha_sidecars
start_alpha_sidecars
wait_for 30 "every pod on key version 3" every_alpha_pod_on 3
show_alpha_pods
kubectl -n bots get events -o custom-columns='TYPE:.type,REASON:.reason,COUNT:.count,MESSAGE:.message' 2>/dev/null | tail -8 || true

# ---- Sidecar section ----
if declare -F demo_sidecar >/dev/null; then heading "Sidecar"; demo_sidecar; fi
# ---- Token broker section ----
if declare -F demo_broker >/dev/null; then heading "Token broker: one upstream login, many sidecars"; demo_broker; fi
# ---- Injection section (webhook engineer): define demo_injection to run it here. ----
if declare -F demo_injection >/dev/null; then heading "Injection"; demo_injection; fi

heading "Checking that no secret reached any log (operator and broker, sidecars, simulators)"
SECRETS=()
for value in "${BROKER_SECRETS[@]}"; do [ -n "$value" ] && SECRETS+=("$value"); done
for field in apiKey previousApiKey; do
  value="$(kubectl -n bots get secret keyward-alpha-bot -o jsonpath="{.data.$field}" | base64 -d 2>/dev/null || true)"
  [ -n "$value" ] && SECRETS+=("$value")
done
# The keys the alpha sidecars delivered (the Secret holds only envelopes).
for tokenfile in "$WORK"/alpha-tokens-*/token; do
  [ -s "$tokenfile" ] && SECRETS+=("$(cat "$tokenfile")")
done
# The standalone sidecar's password and its last token.
if [ -s "$WORK/tokens/token.json" ]; then
  SECRETS+=(demo-password "$(grep -o '"accessToken":"[^"]*"' "$WORK/tokens/token.json" | cut -d'"' -f4)")
fi
LOGS=("$WORK"/*.log)
SEEN=0
for value in "${SECRETS[@]}"; do
  [ -n "$value" ] || continue
  for log in "${LOGS[@]}"; do
    case "$log" in */openssl.log|*/cmake.log|*/build.log) continue ;; esac
    if grep -qF -- "$value" "$log"; then
      printf '   a secret (%.6s…) appears in %s\n' "$value" "$log" >&2
      SEEN=1
    fi
  done
done
[ "$SEEN" = 0 ] && note "none of ${#SECRETS[@]} secrets (keys, passwords, service account and access tokens) in ${#LOGS[@]} logs" \
  || die "a secret appeared in a log (listed above)"

heading "Done (everything started by this script is stopped on exit)"
