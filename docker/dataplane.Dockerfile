# The mcpgw data plane (binary `mcpgw-dataplane`), image ghcr.io/mcpgw/mcpgw-dataplane.
#
#   docker build -f docker/dataplane.Dockerfile -t ghcr.io/mcpgw/mcpgw-dataplane:dev .
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
    cargo build --release --locked -p mcpgw-dataplane \
 && install -D -m 0755 target/release/mcpgw-dataplane /out/mcpgw-dataplane

# glibc of rust:*-bookworm matches distroless cc-debian12 (Debian 12).
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="mcpgw-dataplane" \
      org.opencontainers.image.description="mcpgw data plane: an MCP Streamable HTTP gateway" \
      org.opencontainers.image.source="https://github.com/mcpgw/mcpgw" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/mcpgw-dataplane /usr/local/bin/mcpgw-dataplane
# Numeric, so that Kubernetes can check runAsNonRoot.
USER 65532:65532
# The operator's gateways listen on 7114 (container port `mcp`).
EXPOSE 7114
ENTRYPOINT ["/usr/local/bin/mcpgw-dataplane"]
