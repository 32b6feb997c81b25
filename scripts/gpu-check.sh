#!/usr/bin/env bash
# A short check for a machine with an NVIDIA GPU (run by hand, not in CI):
# the host started with OCRHOST_DEVICE=cuda:0 must see the GPU through NVML,
# report its memory in /debug/memory and /metrics, and, since the npm ONNX
# Runtime build has no CUDA provider, fall back to the CPU and still serve.
# Expects bin/ocrhost and third_party/ (or out/gpu.tgz holding them).
set -euo pipefail
[[ -x bin/ocrhost ]] || tar xzf out/gpu.tgz
get() { curl -fs "$1" 2>/dev/null || wget -qO- "$1" 2>/dev/null ||
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' "$1"; }
nvidia-smi --query-gpu=index,name,memory.total,memory.used,memory.free --format=csv || true
export OCRHOST_DEVICE=cuda:0 OCRHOST_EMBEDDED_NATS_PORT=14222 OCRHOST_HTTP_ADDR=127.0.0.1:18080 \
  OCRHOST_MODEL_IDLE_TIMEOUT=3s OCRHOST_JETSTREAM=false
bin/ocrhost serve > "${OUT:-.}/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do get http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break; sleep 0.1; done
echo "== invoke (expect the sample's text)"
bin/ocrhost invoke --nats nats://127.0.0.1:14222 --json testdata/sample/phototest.tif | head -c 400; echo
echo "== /debug/memory"
get http://127.0.0.1:18080/debug/memory | head -c 3000; echo
echo "== gpu metrics"
get http://127.0.0.1:18080/metrics | grep -E '^ocrhost_(gpu|models_loaded|process_rss)' || true
sleep 5
echo "== after idle eviction"
get http://127.0.0.1:18080/metrics | grep -E '^ocrhost_(models_loaded|process_rss|gpu_memory_used)' || true
nvidia-smi --query-gpu=index,memory.used --format=csv || true
kill -TERM $pid; wait $pid || true
echo "== serve log"
cat "${OUT:-.}/serve.log"
