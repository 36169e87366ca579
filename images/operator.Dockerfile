# keyward-operator image: multi-stage. The build stage compiles keyward-operator with Debian's packages;
# the final stage is FROM scratch with only the stripped binary, the shared libraries it links
# (collected with ldd), CA certificates and a passwd entry for the non-root user 65532.
# Build from the repository root:  docker build -f images/operator.Dockerfile .
# (On machines without a Docker engine, scripts/build-images.sh builds the same layout with buildah.)
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates binutils \
      libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev \
      libgtest-dev libgmock-dev libhowardhinnant-date-dev tzdata \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY common common
COPY operator operator
COPY sidecar sidecar
COPY bench bench
COPY images/collect-rootfs.sh /usr/local/bin/collect-rootfs.sh
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYWARD_BUILD_TESTS=OFF \
 && cmake --build /build --target keyward-operator -j"$(nproc)" \
 && collect-rootfs.sh /build/operator/keyward-operator /rootfs keyward-operator

FROM scratch
COPY --from=build /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/keyward-operator"]
