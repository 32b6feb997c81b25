#!/usr/bin/env python3
"""Runs ocrhost, @gutenye/ocr-node and Tesseract over the ground-truth images
and writes the comparison table (see scripts/compare-peers.sh).

Scoring matches internal/textmetric: NFKC, whitespace removed, CER =
Levenshtein / len(ref) over the concatenated text, and an order-insensitive
character-bag F1. Standard library only.
"""
import argparse
import collections
import datetime
import json
import os
import re
import struct
import subprocess
import sys
import time
import unicodedata
import zlib

TESS_LANGS = "eng+chi_sim"

# Go's unicode.IsSpace, which textmetric uses; Python's str.isspace also
# counts U+001C..U+001F, so the set is spelled out.
GO_SPACE = set("\t\n\v\f\r \u0085\u00a0\u1680\u2028\u2029\u202f\u205f\u3000")
GO_SPACE.update(chr(c) for c in range(0x2000, 0x200B))


def normalize(s):
    return [c for c in unicodedata.normalize("NFKC", s) if c not in GO_SPACE]


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        prev = cur
    return prev[len(b)]


def cer(got, want):
    g, w = normalize(got), normalize(want)
    if not w:
        return 0.0 if not g else 1.0
    return levenshtein(g, w) / len(w)


def bag_f1(got, want):
    g, w = normalize(got), normalize(want)
    if not g and not w:
        return 1.0
    if not g or not w:
        return 0.0
    match = sum((collections.Counter(g) & collections.Counter(w)).values())
    p, r = match / len(g), match / len(w)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


# Expected-column phrasings that give only part of the text (first line,
# a label, a box count), so they cannot score a whole page.
PARTIAL = re.compile(r"first text|cls label|det-only|boxes|results?\b(?! \")|\bsee\b|same as")


def ground_truth(manifest):
    """(file, reference text) for every row whose whole text is known."""
    base = os.path.dirname(manifest)
    rows = []
    with open(manifest, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if not line.strip():
                continue
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            name, expected, notes = row["file"], row.get("expected", ""), row.get("notes", "")
            if "Recognition only" in notes or "(no det)" in notes or name.endswith(".npy"):
                continue  # crops or raw arrays: not full-pipeline images
            gt = re.search(r"(\S+\.gt\.txt)", expected)
            if gt:
                with open(os.path.join(base, gt.group(1)), encoding="utf-8") as g:
                    ref = g.read()
            elif expected.startswith("no text"):
                ref = ""
            elif m := re.fullmatch(r'1 results? "(.*)"', expected):
                ref = m.group(1)
            elif '"' not in expected and not PARTIAL.search(expected):
                ref = expected
            else:
                continue
            rows.append((os.path.join(base, name), ref))
    return rows


def timed(cmd, tfile, env=None, cwd=None):
    """Runs cmd under GNU time; returns (rc, stdout, stderr, wall_s, stats)."""
    full = ["/usr/bin/time", "-v", "-o", tfile] + cmd
    t0 = time.monotonic()
    p = subprocess.run(full, capture_output=True, env=env, cwd=cwd)
    wall = time.monotonic() - t0
    stats = {}
    with open(tfile, encoding="utf-8", errors="replace") as f:
        for line in f:
            k, _, v = line.strip().rpartition(": ")
            stats[k] = v
    st = {
        "rss_kib": int(stats.get("Maximum resident set size (kbytes)", 0)),
        "cpu_s": float(stats.get("User time (seconds)", 0)) + float(stats.get("System time (seconds)", 0)),
    }
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), wall, st


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def run_ocrhost(args, files, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    rc, out, err, wall, st = timed([os.path.join(args.repo, "bin/ocrhost"), "ocr", "--json"] + files,
                                   os.path.join(args.work, "time.txt"), env=env, cwd=args.repo)
    res = {}
    for d in json_lines(out):
        res[d["file"]] = {"ms": d["timings"]["total_ns"] / 1e6,
                          "text": "\n".join(l["text"] for l in d.get("lines") or [])}
    if rc != 0 and len(res) < len(files):
        sys.stderr.write(f"compare-peers: ocrhost exit {rc}: {err.strip()[-2000:]}\n")
    return res, wall, st


def run_node(args, files, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    rc, out, err, wall, st = timed(["node", "gutenye-ocr.mjs"] + files,
                                   os.path.join(args.work, "time.txt"), env=env, cwd=args.node_dir)
    res, load_ms = {}, None
    for d in json_lines(out):
        if "load_ms" in d:
            load_ms = d["load_ms"]
        elif "error" not in d:
            res[d["file"]] = {"ms": d["ms"], "text": d["text"]}
    if rc != 0:
        sys.stderr.write(f"compare-peers: gutenye-ocr exit {rc}: {(err + out).strip()[-2000:]}\n")
    return res, wall, st, load_ms


def run_tesseract(args, path):
    rc, out, err, wall, st = timed(["tesseract", path, "stdout", "-l", TESS_LANGS],
                                   os.path.join(args.work, "time.txt"))
    if rc != 0:
        sys.stderr.write(f"compare-peers: tesseract {path} exit {rc}: {err.strip()[-500:]}\n")
        return None, wall, st
    return {"ms": wall * 1e3, "text": out}, wall, st


def write_blank_png(path, w=64, h=64):
    """A white 8-bit gray PNG: Tesseract's cost with nothing to recognise."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff" * w for _ in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except OSError:
        return ""


def mib(kib):
    return f"{kib / 1024:.0f}"


def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--node-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeat", type=int, default=3, help="whole runs per engine; each image keeps its best time")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    images = ground_truth(args.manifest)
    files = [p for p, _ in images]
    log = lambda m: sys.stderr.write(f"compare-peers: {m}\n")
    started = time.monotonic()
    uptime_before = sh("uptime")
    log(f"{len(files)} images; {uptime_before}")

    # Whole runs are repeated, engines interleaved, and each image keeps its
    # best time: other users of this shared machine only ever add time.
    runners = {
        "ocrhost": lambda: run_ocrhost(args, files) + (None,),
        # int8 recognition is the default; this run is all fp32.
        "ocrhost_fp32": lambda: run_ocrhost(args, files, {"OCRHOST_INT8": "none"}) + (None,),
        # ONNX Runtime's memory given back after every inference instead of
        # kept while inferences keep coming (the default; docs/fold.md).
        "ocrhost_shrink": lambda: run_ocrhost(args, files, {"OCRHOST_ARENA_KEEP": "0s"}) + (None,),
        "node": lambda: run_node(args, files),
        "node1": lambda: run_node(args, files, {"OCR_THREADS": "1"}),
    }
    runs = {n: [] for n in runners}
    for i in range(args.repeat):
        for n, run in runners.items():
            log(f"{n}: one process, all images ({i + 1}/{args.repeat})")
            runs[n].append(run())
    engines = {}
    for n, rs in runs.items():
        res = {}
        for r in rs:
            for p, v in r[0].items():
                if p not in res or v["ms"] < res[p]["ms"]:
                    res[p] = {"ms": v["ms"], "text": res.get(p, v)["text"]}
        engines[n] = {
            "res": res,
            "wall": sum(r[1] for r in rs),
            "startup_load_s": min(r[1] - sum(v["ms"] for v in r[0].values()) / 1e3 for r in rs),
            "st": {"rss_kib": max(r[2]["rss_kib"] for r in rs), "cpu_s": sum(r[2]["cpu_s"] for r in rs)},
            "create_ms": min((r[3] for r in rs if r[3] is not None), default=None),
        }

    log("per-image processes (peak RSS per image; Tesseract timings)")
    per_rss = {"ocrhost": {}, "node": {}, "tesseract": {}}
    tess = {}
    tess_wall = tess_cpu = 0.0
    for p in files:
        _, _, st = run_ocrhost(args, [p])
        per_rss["ocrhost"][p] = st["rss_kib"]
        _, _, st, _ = run_node(args, [p])
        per_rss["node"][p] = st["rss_kib"]
        for _ in range(args.repeat):
            r, wall, st = run_tesseract(args, p)
            per_rss["tesseract"][p] = max(per_rss["tesseract"].get(p, 0), st["rss_kib"])
            tess_wall += wall
            tess_cpu += st["cpu_s"]
            if r and (p not in tess or r["ms"] < tess[p]["ms"]):
                tess[p] = r
    blank = os.path.join(args.work, "blank.png")
    write_blank_png(blank)
    tess_load = min(run_tesseract(args, blank)[1] for _ in range(3))
    engines["tesseract"] = {"res": tess, "wall": tess_wall, "startup_load_s": tess_load,
                            "st": {"rss_kib": max(per_rss["tesseract"].values()), "cpu_s": tess_cpu}}
    uptime_after = sh("uptime")
    elapsed = time.monotonic() - started

    # Scores and totals.
    names = ["ocrhost", "node", "tesseract"]
    scored = {n: {} for n in names + ["ocrhost_fp32", "ocrhost_shrink", "node1"]}
    for n in scored:
        for p, ref in images:
            r = engines[n]["res"].get(p)
            text = r["text"] if r else ""
            scored[n][p] = {"ms": r["ms"] if r else None, "cer": cer(text, ref), "f1": bag_f1(text, ref),
                            "chars": len(normalize(text)), "ok": r is not None}
    with_ref = [p for p, ref in images if normalize(ref)]

    def totals(n):
        e, s = engines[n], scored[n]
        per_ms = [v["ms"] for v in s.values() if v["ms"] is not None]
        t = {
            "images_ok": len(per_ms),
            "mean_s": mean(per_ms) / 1e3,
            "sum_s": sum(per_ms) / 1e3,
            "startup_load_s": e["startup_load_s"],
            "cpu_pct": 100 * e["st"]["cpu_s"] / e["wall"] if e["wall"] else float("nan"),
            "mean_cer": mean(s[p]["cer"] for p in with_ref),
            "mean_f1": mean(s[p]["f1"] for p in with_ref),
            "peak_rss_kib": e["st"]["rss_kib"],
        }
        if n == "tesseract":
            t["mean_s_excl_load"] = t["mean_s"] - tess_load
        if n in per_rss:
            t["max_image_rss_kib"] = max(per_rss[n].values())
        if e.get("create_ms") is not None:
            t["create_s"] = e["create_ms"] / 1e3
        return t

    tot = {n: totals(n) for n in scored}
    o, nd, ts = tot["ocrhost"], tot["node"], tot["tesseract"]
    ratios = {
        "speed_vs_node": nd["mean_s"] / o["mean_s"],
        "speed_vs_node_1thread": tot["node1"]["mean_s"] / o["mean_s"],
        "speed_vs_node_fp32": nd["mean_s"] / tot["ocrhost_fp32"]["mean_s"],
        "int8_speedup": tot["ocrhost_fp32"]["mean_s"] / o["mean_s"],
        "speed_vs_node_shrink": nd["mean_s"] / tot["ocrhost_shrink"]["mean_s"],
        "mem_vs_node_shrink": tot["ocrhost_shrink"]["peak_rss_kib"] / nd["peak_rss_kib"],
        "speed_vs_tesseract": ts["mean_s"] / o["mean_s"],
        "speed_vs_tesseract_excl_load": ts["mean_s_excl_load"] / o["mean_s"],
        "mem_vs_node_whole": o["peak_rss_kib"] / nd["peak_rss_kib"],
        "mem_vs_node_per_image": o["max_image_rss_kib"] / nd["max_image_rss_kib"],
        "mem_vs_tesseract_whole": o["peak_rss_kib"] / ts["peak_rss_kib"],
        "mem_vs_tesseract_per_image": o["max_image_rss_kib"] / ts["max_image_rss_kib"],
    }

    ver = {
        "ocrhost": sh(f"git -C {args.repo} describe --always --dirty 2>/dev/null") or "unknown",
        "node": sh("node --version"),
        "gutenye": "@gutenye/ocr-node 1.4.8 (ocr-common 1.4.8, ocr-models 1.4.2, onnxruntime-node 1.30.0, sharp 0.33.5)",
        "tesseract": sh("tesseract --version 2>&1 | head -n1"),
        "cpu": sh("lscpu | sed -n 's/^Model name: *//p'") + f", {os.cpu_count()} CPUs",
    }

    # Markdown.
    L = []
    w = L.append
    w(f"## ocrhost vs @gutenye/ocr-node vs Tesseract ({datetime.date.today().isoformat()})\n")
    w(f"{len(files)} images from testdata/external with whole-text ground truth; each engine OCRs them one at a time "
      f"in one process on this machine ({ver['cpu']}); each image's time is the best of {args.repeat} runs "
      f"(whole runs repeated, engines interleaved). Load before: `{uptime_before}`; after: `{uptime_after}` "
      "(the machine is shared, so times carry noise). CER = Levenshtein/len(ref) after NFKC and whitespace removal "
      "(order-sensitive); F1 = order-insensitive character-bag F1 (internal/textmetric). "
      f"Tesseract runs as `tesseract IMG stdout -l {TESS_LANGS}`, one process per image.\n")
    w("| image | ref chars | ocrhost ms | CER | F1 | gutenye ms | CER | F1 | tesseract ms | CER | F1 |")
    w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for p, ref in images:
        cells = [os.path.basename(p), str(len(normalize(ref)))]
        for n in names:
            s = scored[n][p]
            if not s["ok"]:
                cells += ["failed", "1.000", "0.000"]
                continue
            ms = f"{s['ms']:.0f}"
            if normalize(ref):
                cells += [ms, f"{s['cer']:.3f}", f"{s['f1']:.3f}"]
            else:  # negative image: report what was (wrongly) produced
                cells += [ms, f"({s['chars']} chars out)", "—"]
        w("| " + " | ".join(cells) + " |")
    w("")
    w(f"Mean CER/F1 are over the {len(with_ref)} images with non-empty text; the negative (no-text) image counts for time only.\n")
    w("| engine | intra-op threads | CPU use (whole run) | startup + model load, s | mean s/image (excl. load) | mean CER | mean F1 | peak RSS whole run, MiB | max per-image peak RSS, MiB |")
    w("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    threads = f"{os.cpu_count()} (the CPUs: function/onnx DefaultOptions, one image at a time)"
    rows = [
        ("ocrhost (`bin/ocrhost ocr --json`, int8 recognition: the default)", threads, "ocrhost"),
        ("ocrhost, all fp32 (`OCRHOST_INT8=none`)", threads, "ocrhost_fp32"),
        ("ocrhost, memory given back after every inference (`OCRHOST_ARENA_KEEP=0s`)", threads, "ocrhost_shrink"),
        ("@gutenye/ocr-node", "ORT default = physical cores (2)", "node"),
        ("@gutenye/ocr-node, `intraOpNumThreads: 1`", "1", "node1"),
        ("Tesseract 5.3 eng+chi_sim", "Debian build (linked with libgomp)", "tesseract"),
    ]
    for label, thr, n in rows:
        t = tot[n]
        load = f"{t['startup_load_s']:.2f}"
        if "create_s" in t:
            load += f" (Ocr.create {t['create_s']:.2f})"
        if n == "tesseract":
            load += " (per image: blank 64x64 run)"
        ms = f"{t['mean_s']:.3f}"
        if n == "tesseract":
            ms = f"{t['mean_s']:.3f} incl. load; {t['mean_s_excl_load']:.3f} excl."
        rss_img = mib(t["max_image_rss_kib"]) if "max_image_rss_kib" in t else "—"
        w(f"| {label} | {thr} | {t['cpu_pct']:.0f}% | {load} | {ms} | {t['mean_cer']:.3f} | {t['mean_f1']:.3f} | "
          f"{mib(t['peak_rss_kib'])} | {rss_img} |")
    w("")
    w("Ratios (ocrhost vs peer; speed = peer time / ocrhost time, >1 means ocrhost is faster; "
      "memory = ocrhost peak / peer peak, <1 means ocrhost uses less):\n")
    w(f"- vs @gutenye/ocr-node: speed {ratios['speed_vs_node']:.2f}x (vs its 1-thread run: "
      f"{ratios['speed_vs_node_1thread']:.2f}x); memory {ratios['mem_vs_node_whole']:.2f} whole run, "
      f"{ratios['mem_vs_node_per_image']:.2f} max per image; CER {o['mean_cer']:.3f} vs {nd['mean_cer']:.3f}, "
      f"F1 {o['mean_f1']:.3f} vs {nd['mean_f1']:.3f}")
    w(f"- int8 recognition: ocrhost is {ratios['int8_speedup']:.2f}x its all-fp32 run "
      f"({ratios['speed_vs_node_fp32']:.2f}x the peer's speed in fp32); CER {o['mean_cer']:.3f} vs "
      f"{tot['ocrhost_fp32']['mean_cer']:.3f} fp32")
    w(f"- `OCRHOST_ARENA_KEEP=0s`: {ratios['speed_vs_node_shrink']:.2f}x the peer's speed at {ratios['mem_vs_node_shrink']:.2f} "
      f"its peak RSS (whole run); CER {tot['ocrhost_shrink']['mean_cer']:.3f}")
    w(f"- vs Tesseract: speed {ratios['speed_vs_tesseract']:.2f}x (its per-process load excluded: "
      f"{ratios['speed_vs_tesseract_excl_load']:.2f}x); memory {ratios['mem_vs_tesseract_whole']:.2f} "
      f"(Tesseract's whole-run peak is its largest per-image process), {ratios['mem_vs_tesseract_per_image']:.2f} "
      f"max per image; CER {o['mean_cer']:.3f} vs {ts['mean_cer']:.3f}, F1 {o['mean_f1']:.3f} vs {ts['mean_f1']:.3f}")
    w("")
    w("Per-image peak RSS, each image in its own process (MiB, includes model load):\n")
    w("| image | ocrhost | gutenye | tesseract |")
    w("|---|--:|--:|--:|")
    for p, _ in images:
        w(f"| {os.path.basename(p)} | {mib(per_rss['ocrhost'][p])} | {mib(per_rss['node'][p])} | "
          f"{mib(per_rss['tesseract'][p])} |")
    w("")
    w(f"Versions: ocrhost {ver['ocrhost']}; {ver['gutenye']} on node {ver['node']}; {ver['tesseract']}. "
      "Both PP-OCRv4 engines use the same det/rec ONNX files and the same libonnxruntime build; gutenye runs no "
      "angle classifier. \"startup + model load\" = process wall time minus the per-image times (best run); "
      f"CPU use = (user+sys)/wall over all whole runs. Script run took {elapsed:.0f} s.")
    md = "\n".join(L) + "\n"
    sys.stdout.write(md)
    with open(os.path.join(args.out, "peers.md"), "w", encoding="utf-8") as f:
        f.write(md)
    raw = {"images": [{"file": os.path.basename(p), "ref": ref,
                       **{n: {**scored[n][p], "text": (engines[n]["res"].get(p) or {}).get("text"),
                              "rss_kib": per_rss.get(n, {}).get(p)} for n in scored}}
                      for p, ref in images],
           "totals": tot, "ratios": ratios, "versions": ver,
           "uptime_before": uptime_before, "uptime_after": uptime_after, "elapsed_s": elapsed}
    with open(os.path.join(args.out, "peers.json"), "w", encoding="utf-8") as f:
        json.dump(raw, f, ensure_ascii=False, indent=1)
    missing = [n for n in names for p in files if not scored[n][p]["ok"]]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
