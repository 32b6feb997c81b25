#!/usr/bin/env bash
# `make bench`: run every benchmark once (BENCHTIME=1x), keep go test's
# JSON stream in out/bench/raw.json as it comes (and show the text it
# carries), then write out/bench/report.md
# with its PNG plots (cmd/benchreport): the machine, every target side by
# side with its verdict, each benchmark's metrics. A failed benchmark shows
# as FAILED in the report, and the script exits non-zero after writing it.
#
# Settings (environment): BENCH (the -bench pattern, "."), BENCHTIME (1x;
# 10x for steadier numbers), BENCH_PKGS (./...), BENCH_OUT (out/bench),
# BENCH_TIMEOUT (60m), and OCRHOST_ORT_LIB / OCRHOST_MODEL_DIR (set by
# the Makefile).
set -uo pipefail
cd "$(dirname "$0")/.."

go=${GO:-go}
out=${BENCH_OUT:-out/bench}
read -r -a pkgs <<<"${BENCH_PKGS:-./...}"
cmd=("$go" test -json -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-1x}" -benchmem -timeout "${BENCH_TIMEOUT:-60m}" "${pkgs[@]}")

mkdir -p "$out" || exit 2
# Plots of an earlier run would be linked from nowhere, or worse, look current.
rm -f "$out"/*.png "$out/report.md"
# The command as the report shows it, quoted where a shell needs it.
shown=
for a in "${cmd[@]}"; do
	[[ $a =~ ^[A-Za-z0-9_./:=-]+$ ]] || a="'$a'"
	shown+="${shown:+ }$a"
done

start=$(date +%s)
load_start=$(cat /proc/loadavg 2>/dev/null || true)
echo "bench: $shown" >&2
# The terminal gets the text the events carry (perl's core JSON::PP; the raw
# stream where perl lacks it).
show() {
	if perl -MJSON::PP -e1 2>/dev/null; then
		perl -MJSON::PP -ne 'my $e = eval { decode_json($_) }; print defined $e ? ($e->{Output} // "") : $_; $| = 1'
	else
		cat
	fi
}
CGO_ENABLED=1 "${cmd[@]}" 2>&1 | tee "$out/raw.json" | show
bench_rc=${PIPESTATUS[0]}
# Taken before building the report tool, which loads the machine too.
end=$(date +%s)
load_end=$(cat /proc/loadavg 2>/dev/null || true)

CGO_ENABLED=1 "$go" run ./cmd/benchreport -in "$out/raw.json" -out "$out" -command "$shown" -status "$bench_rc" \
	-start "$start" -load-start "$load_start" -end "$end" -load-end "$load_end"
report_rc=$?

if ((report_rc != 0)); then
	exit "$report_rc"
fi
if ((bench_rc != 0)); then
	echo "bench: go test exited $bench_rc; see $out/report.md" >&2
	exit "$bench_rc"
fi
