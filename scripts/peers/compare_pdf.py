#!/usr/bin/env python3
"""`make compare`, searchable PDFs: builds a three-page scanned PDF from
shared images with ground truth (img2pdf, lossless), makes it searchable
with ocrhost (bin/ocrhost ocr --format pdf) and with ocrmypdf (Tesseract),
and reports each one's time, output size and the CER of pdftotext of its
output against the ground truth. Run by scripts/compare-peers.sh, which
installs ocrmypdf and poppler-utils; the interpreter must import img2pdf
(Debian's python3, with ocrmypdf). Scoring is compare.py's.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import cer  # noqa: E402  (same scoring as the image table)

import img2pdf  # noqa: E402

PAGES = [
    ("external/tesseract_phototest.tif", "external/tesseract_phototest.gt.txt"),
    ("documents/tesseract_8087_054.3B.tif", "documents/tesseract_8087_054.3B.gt.txt"),
    ("documents/tablebank_004.png", "documents/tablebank_004.gt.txt"),
]


def timed(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - t0


def text_of(pdf, *mode):
    return subprocess.run(["pdftotext", *mode, pdf, "-"], check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    scan = os.path.join(a.work, "scan.pdf")
    with open(scan, "wb") as f:
        f.write(img2pdf.convert([os.path.join(a.shared, "testdata", p) for p, _ in PAGES]))
    truth = "\n".join(open(os.path.join(a.shared, "testdata", g), encoding="utf-8").read() for _, g in PAGES)

    rows = []
    ours_dir = os.path.join(a.work, "ocrhost")
    os.makedirs(ours_dir, exist_ok=True)
    ours = os.path.join(ours_dir, "scan.pdf")
    t = timed([os.path.join(a.repo, "bin", "ocrhost"), "ocr", "--format", "pdf", "--out", ours_dir, scan])
    rows.append(("ocrhost (PP-OCRv4, `ocr --format pdf`)", t, ours))
    theirs = os.path.join(a.work, "ocrmypdf.pdf")
    t = timed(["ocrmypdf", "--output-type", "pdf", "-l", "eng", "--force-ocr", scan, theirs])
    rows.append(("ocrmypdf 14 (Tesseract 5.3, `--output-type pdf`)", t, theirs))

    lines = [
        f"Searchable PDF of a {len(PAGES)}-page scan ({', '.join(os.path.basename(p) for p, _ in PAGES)}; "
        f"input {os.path.getsize(scan)} bytes): time (one process, models loaded included), output size, and the CER "
        "against the ground truth of `pdftotext -raw` of the output (the text layer's own order) and of plain `pdftotext` "
        "(poppler's layout analysis, which interleaves the magazine page's columns for both).",
        "",
        "| tool | time (s) | output (bytes) | CER (-raw) | CER (pdftotext) |",
        "|---|---|---|---|---|",
    ]
    for name, t, pdf in rows:
        lines.append(f"| {name} | {t:.1f} | {os.path.getsize(pdf)} | {cer(text_of(pdf, '-raw'), truth):.4f} | "
                     f"{cer(text_of(pdf), truth):.4f} |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "peers-pdf.md"), "w", encoding="utf-8") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
