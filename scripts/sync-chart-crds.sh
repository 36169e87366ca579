#!/usr/bin/env bash
# Copies the single source of the CRD (crds/) into the chart (charts/keyward/files/crds/), which
# renders it as a template. A copy, not a symlink: Helm prints "found symbolic link in path" on
# every render of a chart with a symlink. tests/chart fails when the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p charts/keyward/files/crds
for f in crds/*.yaml; do
  install -m 0644 "$f" "charts/keyward/files/crds/$(basename "$f")"
done
echo "sync-chart-crds: charts/keyward/files/crds/ now equals crds/"
