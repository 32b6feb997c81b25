#!/usr/bin/env bash
# `make run`: start the host on its embedded NATS, OCR the bundled sample
# through NATS request-reply, print the text, and keep serving until Ctrl-C.
set -euo pipefail
bin=${BIN:-bin/ocrhost}
sample=${SAMPLE:-testdata/sample/phototest.tif}
port=${OCRHOST_EMBEDDED_NATS_PORT:-4222}
url=${OCRHOST_NATS_URL:-nats://127.0.0.1:$port}

"$bin" serve &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
trap 'kill -TERM $pid 2>/dev/null || true' EXIT

echo "== OCR of $sample through NATS request-reply ($url):"
"$bin" invoke --nats "$url" --wait 60s "$sample"
http=${PORT:-${OCRHOST_HTTP_ADDR:-:8080}}
http=${http#:}
cat <<MSG

== ocrhost is serving (pid $pid). Try:
   $bin invoke --nats $url FILE...          (NATS request-reply; --json for boxes and timings)
   curl -s -X POST localhost:${http##*:}/ -H 'ce-specversion: 1.0' -H 'ce-id: 1' \\
        -H 'ce-type: com.ocrhost.ocr.request' -H 'ce-source: /cli' \\
        -H 'content-type: image/png' --data-binary @FILE  (HTTP binary CloudEvent)
   curl -s localhost:${http##*:}/metrics | grep ^ocrhost_
   Ctrl-C stops it (models unload, NATS closes).
MSG
wait $pid
