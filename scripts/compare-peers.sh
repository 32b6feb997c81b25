#!/usr/bin/env bash
# `make compare`: OCR the ground-truth images of ../shared/testdata/external
# with ocrhost, @gutenye/ocr-node (same PP-OCRv4 ONNX models, same ONNX
# Runtime 1.30.0 build) and Debian's Tesseract 5.3, one image at a time in
# one process, and print a Markdown table of time, CER/F1 and peak RSS
# (also written to out/peers.md, raw figures to out/peers.json). Each image
# keeps its best time of OCRHOST_COMPARE_REPEAT (default 3) runs. First it
# makes a three-page scan searchable with ocrhost and with ocrmypdf
# (scripts/peers/compare_pdf.py, out/peers-pdf.md).
#
# Installs what it needs and is idempotent about it: Debian `time` and
# tesseract-ocr (+ chi_sim, chi_tra) with apt-get, the Node peer with
# `npm ci --ignore-scripts` from scripts/peers/package-lock.json into
# $OCRHOST_PEERS_DIR (default $TMPDIR/ocrhost-peers). onnxruntime-node's install
# script only fetches GPU providers from outside; the CPU binding and
# libonnxruntime ship in the package (bin/napi-v6/linux/x64), so it is skipped.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
shared=${OCRHOST_SHARED_DIR:-$repo/../shared}
peers=${OCRHOST_PEERS_DIR:-${TMPDIR:-/tmp}/ocrhost-peers}
out=${OCRHOST_COMPARE_OUT:-$repo/out}
manifest=$shared/testdata/external/manifest.tsv

die() { echo "compare-peers: $*" >&2; exit 1; }
say() { echo "compare-peers: $*" >&2; }

[[ -f $manifest ]] || die "no $manifest (set OCRHOST_SHARED_DIR to the folder holding testdata/external)"
command -v python3 >/dev/null || die "python3 is required"

apt_updated=
apt_install() {
  command -v apt-get >/dev/null || die "apt-get is required to install $* (Debian/Ubuntu), or install them by hand"
  if [[ -z $apt_updated ]]; then
    say "apt-get update"
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# GNU time: its -v gives the peak RSS of a whole process tree member.
if ! /usr/bin/time -v true 2>&1 | grep -q 'Maximum resident set size'; then
  apt_install time
fi

have_lang() { tesseract --list-langs 2>/dev/null | grep -qx "$1"; }
if ! command -v tesseract >/dev/null || ! have_lang eng || ! have_lang chi_sim || ! have_lang chi_tra; then
  apt_install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra
fi

command -v node >/dev/null || die "node is required for @gutenye/ocr-node (apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm is required for @gutenye/ocr-node (apt-get install npm)"
node_dir=$peers/node
lock_sum=$(cat scripts/peers/package.json scripts/peers/package-lock.json | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$node_dir/.installed" 2>/dev/null)" != "$lock_sum" ]]; then
  say "npm ci --ignore-scripts in $node_dir"
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp scripts/peers/package.json scripts/peers/package-lock.json "$node_dir/"
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in $node_dir"
  echo "$lock_sum" >"$node_dir/.installed"
fi
# ESM resolves imports from the script's own folder, so it runs from there.
cp scripts/peers/gutenye-ocr.mjs "$node_dir/"
binding=$node_dir/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
[[ -f $binding/onnxruntime_binding.node && -f $binding/libonnxruntime.so.1 ]] ||
  die "onnxruntime-node has no linux x64 CPU binding under $binding"

say "make build"
make --no-print-directory build >&2

# Searchable PDFs against ocrmypdf (Debian's, with its python3 and img2pdf).
command -v ocrmypdf >/dev/null || apt_install ocrmypdf
command -v pdftotext >/dev/null || apt_install poppler-utils

mkdir -p "$out"
/usr/bin/python3 scripts/peers/compare_pdf.py --repo "$repo" --shared "$shared" --work "$peers/work-pdf" --out "$out"
exec python3 scripts/peers/compare.py --repo "$repo" --manifest "$manifest" \
  --node-dir "$node_dir" --work "$peers/work" --out "$out" --repeat "${OCRHOST_COMPARE_REPEAT:-3}"
