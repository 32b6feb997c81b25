#!/usr/bin/env bash
# `make soak` (not in CI): build, start `ocrhost serve` under a memory
# budget, drive it with `ocrhost load` at concurrency 16 over the sample
# images for SOAK_DURATION, then check that the host neither died nor was
# OOM-killed, that every request got a result, and that its RSS shows no
# upward trend over the second half (`load -check`). The report (report.md,
# samples.csv, requests.csv, rss.png, latency.png) and the host's log go to
# SOAK_OUT. Exit status 0 only when every check passes.
#
# Settings (environment): SOAK_DURATION (30m), SOAK_CONCURRENCY (16),
# SOAK_TRANSPORT (nats; publish, jetstream, http), SOAK_FILES (the sample
# images: testdata/sample and ../shared/testdata/external when present),
# SOAK_OPTIONS (per-call options JSON), SOAK_MEMORY_EVERY (5s),
# SOAK_MAX_RSS_GROWTH (0.05: RSS growth over the second half, as a fraction
# of its mean, taken as noise), SOAK_OUT (out/soak-<time>),
# SOAK_NATS_PORT (14222), SOAK_HTTP_PORT (18080), SOAK_SKIP_BUILD=1, and
# any OCRHOST_* variable for the host (OCRHOST_MEMORY_BUDGET: 1.5GiB).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BIN:-bin/ocrhost}
duration=${SOAK_DURATION:-30m}
concurrency=${SOAK_CONCURRENCY:-16}
transport=${SOAK_TRANSPORT:-nats}
out=${SOAK_OUT:-out/soak-$(date -u +%Y%m%dT%H%M%SZ)}
nats_port=${SOAK_NATS_PORT:-14222}
http_port=${SOAK_HTTP_PORT:-18080}

if [[ -n ${SOAK_FILES:-} ]]; then
	read -r -a files <<<"$SOAK_FILES"
else
	files=(testdata/sample/*.tif)
	shopt -s nullglob
	files+=(../shared/testdata/external/*.jpg ../shared/testdata/external/*.png)
	shopt -u nullglob
fi

if [[ ${SOAK_SKIP_BUILD:-0} != 1 ]]; then
	CGO_ENABLED=1 ${GO:-go} build -trimpath -o "$bin" ./cmd/host
fi
mkdir -p "$out"

export OCRHOST_MEMORY_BUDGET=${OCRHOST_MEMORY_BUDGET:-1.5GiB}
export OCRHOST_EMBEDDED_NATS_PORT=$nats_port
export OCRHOST_HTTP_ADDR=127.0.0.1:$http_port
# Every request the generator has in flight is admitted and queued in the
# host (none answered busy at once), and waits long enough for its turn.
export OCRHOST_MAX_IN_FLIGHT=${OCRHOST_MAX_IN_FLIGHT:-$concurrency}
export OCRHOST_POOL_QUEUE_TIMEOUT=${OCRHOST_POOL_QUEUE_TIMEOUT:-5m}
unset OCRHOST_NATS_URL # the host's embedded server

# The cgroup's OOM kills, before and after (cgroup v2; absent elsewhere).
oom_kills() { awk '$1 == "oom_kill" {print $2}' /sys/fs/cgroup/memory.events 2>/dev/null || true; }
oom_before=$(oom_kills)

echo "== soak: $transport, concurrency $concurrency, $duration, ${#files[@]} files, budget $OCRHOST_MEMORY_BUDGET -> $out"
"$bin" serve >"$out/host.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT

for _ in $(seq 600); do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "soak: host exited before it was ready; see $out/host.log" >&2
		tail -20 "$out/host.log" >&2
		exit 1
	fi
	curl -fsS "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done

failed=0
load_args=(-transport "$transport" -nats "nats://127.0.0.1:$nats_port" -http "http://127.0.0.1:$http_port"
	-c "$concurrency" -duration "$duration" -timeout 10m -memory-every "${SOAK_MEMORY_EVERY:-5s}"
	-max-rss-growth "${SOAK_MAX_RSS_GROWTH:-0.05}" -progress 1m -out "$out" -check)
[[ -n ${SOAK_OPTIONS:-} ]] && load_args+=(-options "$SOAK_OPTIONS")
"$bin" load "${load_args[@]}" "${files[@]}" | tee "$out/load.txt" || failed=1

if ! kill -0 "$pid" 2>/dev/null; then
	status=0
	wait "$pid" || status=$?
	echo "soak: FAIL: the host died during the run (exit status $status; 137 is SIGKILL, e.g. the OOM killer)" >&2
	failed=1
else
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	if [[ $status != 0 ]]; then
		echo "soak: FAIL: the host exited with status $status on SIGTERM" >&2
		failed=1
	fi
fi
trap - EXIT
oom_after=$(oom_kills)
if [[ -n $oom_before && -n $oom_after && $oom_after != "$oom_before" ]]; then
	echo "soak: FAIL: $((oom_after - oom_before)) OOM kill(s) in this cgroup during the run" >&2
	failed=1
fi
if grep -q 'level=ERROR' "$out/host.log"; then
	echo "soak: note: the host logged errors; see $out/host.log" >&2
fi

if [[ $failed != 0 ]]; then
	echo "== soak: FAIL (report: $out/report.md)"
	exit 1
fi
echo "== soak: PASS (report: $out/report.md)"
