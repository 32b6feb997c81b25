#!/usr/bin/python3
"""Regenerates golden.json.gz, the OpenCV/numpy reference outputs that the Go
tests compare against bit for bit.

Needs OpenCV's and numpy's Python bindings (on Debian: apt-get install
python3-opencv). Run from this directory: /usr/bin/python3 gen_golden.py
"""
import base64
import gzip
import json

import cv2
import numpy as np

rng = np.random.default_rng(20240611)


def make_image(w, h):
    # Smooth gradients plus noise: every interpolation weight matters, and
    # neighbouring pixels differ enough to expose rounding differences.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([
        127 + 120 * np.sin(xx / 7.0 + yy / 11.0),
        127 + 120 * np.cos(xx / 5.0 - yy / 3.0),
        (xx * 13 + yy * 7) % 256,
    ], axis=-1)
    noise = rng.integers(-12, 13, size=(h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def enc(img):
    return base64.b64encode(np.ascontiguousarray(img).tobytes()).decode()


def image_json(img):
    h, w = img.shape[:2]
    return {"w": w, "h": h, "pix": enc(img)}


out = {"opencv": cv2.__version__, "numpy": np.__version__,
       "sources": [], "resize": [], "warp": [], "norm": []}

sources = [make_image(37, 23), make_image(64, 48), make_image(5, 3), make_image(110, 45)]
for s in sources:
    out["sources"].append(image_json(s))

resize_targets = {
    0: [(74, 46), (18, 11), (100, 23), (37, 60), (13, 7), (1, 1), (37, 1), (1, 23), (41, 29), (23, 37)],
    1: [(32, 24), (80, 60), (96, 48), (48, 64), (50, 33), (63, 47), (65, 49)],
    2: [(10, 6), (16, 48), (3, 2), (7, 5), (40, 1)],
    3: [(55, 22), (100, 48), (109, 44), (24, 40)],
}
for si, targets in resize_targets.items():
    for (w, h) in targets:
        r = cv2.resize(sources[si], (w, h), interpolation=cv2.INTER_LINEAR)
        out["resize"].append({"src": si, "dst": image_json(r)})

warp_quads = [
    # axis-aligned, integer corners
    [[10, 5], [90, 5], [90, 30], [10, 30]],
    # rotated text box with fractional float32 corners
    [[20.5, 20.25], [90.75, 8.5], [94.0, 30.0], [23.75, 41.5]],
    # slight perspective, partly outside the image (replicate border)
    [[-6, -3], [60, 4], [66, 30], [-10, 28]],
    # steep box that the pipeline would rotate by 90 degrees afterwards
    [[60, 2], [80, 3], [78, 44], [58, 43]],
    # mirrored orientation
    [[100, 40], [30, 42], [32, 8], [102, 6]],
    # tiny crop
    [[70.3, 20.6], [73.9, 20.1], [74.2, 23.8], [70.0, 24.4]],
]
for q in warp_quads:
    pts = np.array(q, dtype=np.float32)
    w = int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[2] - pts[3])))
    h = int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2])))
    dst_pts = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    M = cv2.getPerspectiveTransform(pts, dst_pts)
    r = cv2.warpPerspective(sources[3], M, (w, h), flags=cv2.INTER_CUBIC,
                            borderMode=cv2.BORDER_REPLICATE)
    out["warp"].append({"src": 3, "quad": pts.astype(np.float64).tolist(),
                        "m": M.reshape(-1).tolist(), "dst": image_json(r)})

px = np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, axis=2)
norm_cases = [
    ("divide", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ("scale32", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ("scale64", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ("scale64", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
]
for name, mean, std in norm_cases:
    if name == "divide":  # RapidOCR rec/cls resize_norm_img
        v = px.astype("float32").transpose((2, 0, 1)) / 255
        v -= 0.5
        v /= 0.5
        v = v.transpose((1, 2, 0))
    elif name == "scale32":  # PaddleOCR NormalizeImage
        scale = np.float32(1.0 / 255.0)
        m = np.array(mean).reshape((1, 1, 3)).astype("float32")
        s = np.array(std).reshape((1, 1, 3)).astype("float32")
        v = (px.astype("float32") * scale - m) / s
    else:  # RapidOCR DetPreProcess
        v = ((px.astype("float32") * (1 / 255.0) - np.array(mean)) / np.array(std)).astype(np.float32)
    assert v.dtype == np.float32
    out["norm"].append({"formula": name, "mean": mean, "std": std,
                        "values": enc(v.reshape(256, 3).T.astype("<f4"))})

with gzip.open("golden.json.gz", "wt") as f:
    json.dump(out, f)
