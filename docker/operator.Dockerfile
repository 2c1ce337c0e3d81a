# The mcpgw operator (binary `mcpgw-operator`), image ghcr.io/mcpgw/mcpgw-operator.
#
#   docker build -f docker/operator.Dockerfile -t ghcr.io/mcpgw/mcpgw-operator:dev .
#
# Build context: the workspace root (see .dockerignore). Needs BuildKit (the
# default builder of current Docker) for the cache mounts.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target caches survive between builds; the binary is copied
# out of the cache mount in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,id=mcpgw-target \
    cargo build --release --locked -p mcpgw-operator \
 && install -D -m 0755 target/release/mcpgw-operator /out/mcpgw-operator

# glibc of rust:*-bookworm matches distroless cc-debian12 (Debian 12).
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="mcpgw-operator" \
      org.opencontainers.image.description="mcpgw operator: McpGateway and McpToolkit resources to data-plane Deployments" \
      org.opencontainers.image.source="https://github.com/mcpgw/mcpgw" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/mcpgw-operator /usr/local/bin/mcpgw-operator
# Numeric, so that Kubernetes can check runAsNonRoot (the chart sets it too).
USER 65532:65532
# /healthz, /readyz and /metrics (port `http`).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mcpgw-operator"]
