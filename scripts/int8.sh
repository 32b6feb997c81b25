#!/usr/bin/env bash
# Writes the int8 PP-OCR models beside the fp32 ones in $OCRHOST_DEPS_DIR/models
# (default third_party/) with cmd/quantize (docs/quantize.md), and checks each
# against the sha256 pinned below: the quantizer is deterministic, so a
# different hash means the quantizer or its input changed. The fp32 files are
# only read. Idempotent: verified outputs are left alone.
set -euo pipefail

dest=${OCRHOST_DEPS_DIR:-third_party}/models
go=${GO:-go}

# fp32 model | int8 model | cmd/quantize flags | sha256 of the int8 model.
# Recognition keeps its convolutions fp32: in int8 they added spaces where
# the fp32 model reads blank after a line's end (docs/quantize.md).
models=(
  "ch_PP-OCRv4_det_infer.onnx|ch_PP-OCRv4_det_infer.int8.onnx||38e1babc8042852226239125e2ca6845fe3ca0eb4b91aed1a9d8799f64c19137"
  "ch_ppocr_mobile_v2.0_cls_infer.onnx|ch_ppocr_mobile_v2.0_cls_infer.int8.onnx||4c865a0a7b236a9042aebffe779c981909cd0a5658fae0ed1b7ee3013a939bd6"
  "ch_PP-OCRv4_rec_infer.onnx|ch_PP-OCRv4_rec_infer.int8.onnx|-conv=false|5b29072524b81b12681e91b33c3b9970da27937912ea63c08ebe9d2520fa4373"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
built=

for row in "${models[@]}"; do
  IFS='|' read -r in out flags want <<<"$row"
  if [[ -f "$dest/$out" && "$(sha "$dest/$out")" == "$want" ]]; then
    continue
  fi
  if [[ -z "$built" ]]; then
    "$go" build -trimpath -o "$work/quantize" ./cmd/quantize
    built=1
  fi
  # shellcheck disable=SC2086 # flags are words
  "$work/quantize" $flags -in "$dest/$in" -out "$work/$out"
  got=$(sha "$work/$out")
  if [[ "$got" != "$want" ]]; then
    echo "int8: checksum mismatch for $out: got $got, want $want (a changed quantizer needs its new hashes pinned here)" >&2
    exit 1
  fi
  mv "$work/$out" "$dest/$out"
  echo "int8: $dest/$out ok" >&2
done
echo "int8: $dest has the verified int8 models"
