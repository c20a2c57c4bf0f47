# syntax=docker/dockerfile:1
# The secrets-agent image: a fully static musl binary on distroless "static" (no shell, no
# package manager, no libc; CA certificates and a nonroot user only), running as 65532.
#
#   docker build -t kubectl-secrets/secrets-agent:$(cargo metadata --no-deps --format-version 1 \
#     | jq -r '.packages[] | select(.name=="secrets-agent") | .version') .
#
# Multi-arch: `docker buildx build --platform linux/amd64,linux/arm64 …` builds each natively
# (under emulation for the foreign one); aws-lc-sys ships pre-generated bindings for both musl
# targets and compiles its C with the plain `cc` builder, so no CMake, Go, Perl or bindgen.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-alpine AS build
# A C toolchain for aws-lc-sys (the crypto backend); Alpine's Rust targets musl and links
# statically by default.
RUN apk add --no-cache build-base
WORKDIR /src
COPY . .
# The last line refuses a dynamically linked result rather than ship one that fails at start.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p secrets-agent \
    && cp target/release/secrets-agent /secrets-agent \
    && ! ldd /secrets-agent 2>/dev/null | grep -q '=>'

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /secrets-agent /usr/local/bin/secrets-agent
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/secrets-agent"]
CMD ["controller"]
