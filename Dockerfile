# syntax=docker/dockerfile:1.7
#
# Images of the Live Conference Runtime harness. One builder stage compiles the three binaries
# once; two small runtime targets take what they need from it:
#
#   docker build --target server  -t livepoll-server:local  .   # reference-server (port 3000)
#   docker build --target loadgen -t livepoll-loadgen:local .   # loadgen + conformance + features/
#
# BuildKit is required (cache mounts). See docs/docker.md.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------------------------------------
# builder: the whole workspace (vendor/ included: [patch.crates-io] points at it), built once.
# ---------------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder

# The full rust image already has gcc, pkg-config and libssl-dev (openssl-sys, pulled in by the
# conformance client's native-tls). cmake is the fallback builder of aws-lc-sys (rustls).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*

# /app, not /build: conformance's default --features is CARGO_MANIFEST_DIR/../features, baked in
# at compile time as /app/conformance/../features, which the loadgen image provides.
WORKDIR /app
COPY . .

# The target directory lives in a cache mount, which is not part of the image: copy the
# binaries out to /out inside the same RUN.
RUN --mount=type=cache,id=livepoll-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=livepoll-cargo-git,target=/usr/local/cargo/git \
    --mount=type=cache,id=livepoll-target,target=/app/target \
    cargo build --release --locked -p reference-server -p loadgen -p conformance \
 && mkdir -p /out \
 && cp target/release/reference-server target/release/loadgen target/release/conformance /out/

# ---------------------------------------------------------------------------------------------
# runtime base: debian slim, a non-root user.
# ---------------------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime-base
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" app \
 && useradd --system --uid "${APP_UID}" --gid app --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin app

# ---------------------------------------------------------------------------------------------
# server: docker build --target server
# ---------------------------------------------------------------------------------------------
FROM runtime-base AS server
# curl for the HEALTHCHECK; ca-certificates for TLS to a managed Redis/MongoDB.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown app:app /data
COPY --from=builder /out/reference-server /usr/local/bin/reference-server

# Listen on every interface (the binary's default is 127.0.0.1:3000). Final results (D23) go to
# /data, the only directory the app user may write.
ENV BIND=0.0.0.0:3000 \
    RESULTS_FILE=/data/results.jsonl
WORKDIR /data
USER app:app
EXPOSE 3000
# GET /ready: 200 when the store (Redis) answers. The port is taken from BIND.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:$(echo "$BIND" | sed 's/.*://')/ready" || exit 1
# JWT_SECRET and ADMIN_TOKEN must come from the environment (docker run -e / compose).
ENTRYPOINT ["/usr/local/bin/reference-server"]

# ---------------------------------------------------------------------------------------------
# loadgen: docker build --target loadgen (loadgen and conformance, with the feature files)
# ---------------------------------------------------------------------------------------------
FROM runtime-base AS loadgen
# libssl3: both binaries link OpenSSL (native-tls of the Socket.IO client, unified in the build).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /reports /app/conformance \
 && chown app:app /reports \
 && ln -s /reports /app/reports
COPY --from=builder /out/loadgen /out/conformance /usr/local/bin/
COPY features/ /app/features/
# Relative default report paths (reports/<run-id>, reports/conformance) resolve to /reports.
WORKDIR /app
VOLUME ["/reports"]
USER app:app
# No entrypoint: the command names the binary, e.g.
#   docker run --rm livepoll-loadgen:local loadgen --target http://host:3000 ...
#   docker run --rm livepoll-loadgen:local conformance --target http://host:3000 --features /app/features ...
CMD ["loadgen", "--help"]
