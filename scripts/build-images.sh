#!/usr/bin/env bash
# Builds the keyward-operator and keyward-sidecar images on machines without a Docker engine:
# compiles the binaries (no tests), collects each into a minimal root filesystem
# (images/collect-rootfs.sh: stripped binary + ldd-collected libraries + CA bundle + passwd),
# and assembles a FROM-scratch OCI image with buildah (vfs storage, no container runtime needed),
# saved as an OCI archive under out/images/. images/*.Dockerfile describe the same images for
# machines that have a Docker engine.
#
# usage: scripts/build-images.sh [--tag TAG] [--build-dir DIR] [operator] [sidecar]
set -euo pipefail
cd "$(dirname "$0")/.."

tag=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/keyward/Chart.yaml)
build_dir=build-images
images=()
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    operator|sidecar) images+=("$1"); shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
((${#images[@]})) || images=(operator sidecar)
command -v buildah >/dev/null || { echo "build-images: buildah is missing; run scripts/setup.sh" >&2; exit 1; }

out=out/images
mkdir -p "$out"
storage=(--storage-driver vfs)

# RelWithDebInfo (-O2, the configuration the tests build with -Werror; GCC 12 at -O3 reports
# false positives) and stripped by collect-rootfs.sh, so no debug info reaches the image.
echo "build-images: compiling ${images[*]} (RelWithDebInfo, stripped) in $build_dir"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYWARD_BUILD_TESTS=OFF >/dev/null
targets=()
for i in "${images[@]}"; do targets+=(--target "keyward-$i"); done
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}" >/dev/null

human() { numfmt --to=iec-i --suffix=B "$1"; }

for i in "${images[@]}"; do
  name=keyward-$i
  bin=$(find "$build_dir" -type f -name "$name" -perm -u+x | head -1)
  [[ -n $bin ]] || { echo "build-images: $name was not built" >&2; exit 1; }
  rootfs=$out/rootfs-$i
  images/collect-rootfs.sh "$bin" "$rootfs" "$name"

  ctr=$(buildah "${storage[@]}" from scratch)
  trap 'buildah "${storage[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
  buildah "${storage[@]}" copy "$ctr" "$rootfs/" / >/dev/null
  buildah "${storage[@]}" config \
    --entrypoint "[\"/$name\"]" --cmd '[]' --user 65532:65532 --workingdir / \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --label org.opencontainers.image.title="$name" \
    --label org.opencontainers.image.version="$tag" \
    --label org.opencontainers.image.source=https://github.com/keyward/keyward \
    "$ctr"
  image="localhost/$name:$tag"
  buildah "${storage[@]}" commit --quiet --format oci --rm "$ctr" "$image" >/dev/null
  trap - EXIT
  archive=$out/$name-$tag.oci.tar
  rm -f "$archive"
  # The archive names the image in full (localhost/...): kind and k3d import it under that name,
  # and the chart's image.*.repository can say the same (docs/quickstart.md).
  buildah "${storage[@]}" push --quiet "$image" "oci-archive:$archive:$image"

  rootfs_bytes=$(du -sb "$rootfs" | cut -f1)
  archive_bytes=$(stat -c %s "$archive")
  echo "build-images: $image -> $archive (root filesystem $(human "$rootfs_bytes"), archive with compressed layer $(human "$archive_bytes"))"
done
