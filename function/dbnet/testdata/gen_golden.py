"""Reference outputs for golden_test.go.

Runs RapidOCR v1.4.4's DBPostProcess (ch_ppocr_det/utils.py) and
TextDetector.filter_tag_det_res (imutils ordering; PaddleOCR's sum/diff
ordering for the PaddleOCR parameter set) on the maps that
`DBNET_GOLDEN_DIR=DIR go test -run TestWriteGoldenMaps ./function/dbnet`
writes, and prints the golden JSON:

    python3 gen_golden.py DIR > golden.json

Needs numpy, opencv (cv2), pyclipper and shapely. golden.json was made with
Debian 12's python3-opencv 4.6.0, python3-pyclipper 1.2.1 and
python3-shapely 1.8.5.
"""
import json
import os
import struct
import sys

import cv2
import numpy as np
import pyclipper
from shapely.geometry import Polygon

PARAMS = {
    0: dict(thresh=0.3, box_thresh=0.5, unclip=1.6, dilation=True, order="xsort"),
    1: dict(thresh=0.3, box_thresh=0.6, unclip=1.5, dilation=False, order="sumdiff"),
}


def get_mini_boxes(contour):
    bounding_box = cv2.minAreaRect(contour)
    points = sorted(list(cv2.boxPoints(bounding_box)), key=lambda x: x[0])
    if points[1][1] > points[0][1]:
        index_1, index_4 = 0, 1
    else:
        index_1, index_4 = 1, 0
    if points[3][1] > points[2][1]:
        index_2, index_3 = 2, 3
    else:
        index_2, index_3 = 3, 2
    box = np.array([points[index_1], points[index_2], points[index_3], points[index_4]])
    return box, min(bounding_box[1])


def box_score_fast(bitmap, _box):
    h, w = bitmap.shape[:2]
    box = _box.copy()
    xmin = np.clip(np.floor(box[:, 0].min()).astype(np.int32), 0, w - 1)
    xmax = np.clip(np.ceil(box[:, 0].max()).astype(np.int32), 0, w - 1)
    ymin = np.clip(np.floor(box[:, 1].min()).astype(np.int32), 0, h - 1)
    ymax = np.clip(np.ceil(box[:, 1].max()).astype(np.int32), 0, h - 1)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    box[:, 0] = box[:, 0] - xmin
    box[:, 1] = box[:, 1] - ymin
    cv2.fillPoly(mask, box.reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(bitmap[ymin: ymax + 1, xmin: xmax + 1], mask)[0]


def box_score_slow(bitmap, contour):
    h, w = bitmap.shape[:2]
    contour = np.reshape(contour.copy(), (-1, 2))
    xmin = np.clip(np.min(contour[:, 0]), 0, w - 1)
    xmax = np.clip(np.max(contour[:, 0]), 0, w - 1)
    ymin = np.clip(np.min(contour[:, 1]), 0, h - 1)
    ymax = np.clip(np.max(contour[:, 1]), 0, h - 1)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    contour[:, 0] = contour[:, 0] - xmin
    contour[:, 1] = contour[:, 1] - ymin
    cv2.fillPoly(mask, contour.reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(bitmap[ymin: ymax + 1, xmin: xmax + 1], mask)[0]


def unclip(box, unclip_ratio):
    poly = Polygon(box)
    distance = poly.area * unclip_ratio / poly.length
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return np.array(offset.Execute(distance)).reshape((-1, 1, 2))


def order_xsort(pts):
    x_sorted = pts[np.argsort(pts[:, 0], kind="stable"), :]
    left, right = x_sorted[:2, :], x_sorted[2:, :]
    tl, bl = left[np.argsort(left[:, 1], kind="stable"), :]
    tr, br = right[np.argsort(right[:, 1], kind="stable"), :]
    return np.array([tl, tr, br, bl], dtype="float32")


def order_sumdiff(pts):
    rect = np.zeros((4, 2), dtype="float32")
    s = pts.sum(axis=1)
    rect[0] = pts[np.argmin(s)]
    rect[2] = pts[np.argmax(s)]
    tmp = np.delete(pts, (np.argmin(s), np.argmax(s)), axis=0)
    diff = np.diff(np.array(tmp), axis=1)
    rect[1] = tmp[np.argmin(diff)]
    rect[3] = tmp[np.argmax(diff)]
    return rect


def filter_tag_det_res(dt_boxes, h, w, order):
    out = []
    for box in dt_boxes:
        box = order_xsort(box) if order == "xsort" else order_sumdiff(box)
        for pno in range(box.shape[0]):
            box[pno, 0] = int(min(max(box[pno, 0], 0), w - 1))
            box[pno, 1] = int(min(max(box[pno, 1], 0), h - 1))
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            out.append(None)
            continue
        out.append(box)
    return out


def run(path):
    raw = open(path, "rb").read()
    (seed,) = struct.unpack("<Q", raw[:8])
    w, h, dest_w, dest_h, mode = struct.unpack("<5i", raw[8:28])
    pred = np.frombuffer(raw[28:], dtype=np.float32).reshape(h, w)
    p = PARAMS[mode & 1]
    bitmap = pred > p["thresh"]
    if p["dilation"]:
        bitmap = cv2.dilate(np.array(bitmap).astype(np.uint8), np.array([[1, 1], [1, 1]]))
    outs = cv2.findContours((bitmap * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    contours = outs[0] if len(outs) == 2 else outs[1]
    boxes, scores = [], []
    for contour in contours[:1000]:
        points, sside = get_mini_boxes(contour)
        if sside < 3:
            continue
        score = box_score_slow(pred, contour) if mode & 2 else box_score_fast(pred, points.reshape(-1, 2))
        if p["box_thresh"] > score:
            continue
        box, sside = get_mini_boxes(unclip(points, p["unclip"]).reshape(-1, 1, 2))
        if sside < 5:
            continue
        box = np.array(box)
        box[:, 0] = np.clip(np.round(box[:, 0] / w * dest_w), 0, dest_w)
        box[:, 1] = np.clip(np.round(box[:, 1] / h * dest_h), 0, dest_h)
        boxes.append(box.astype(np.int32))
        scores.append(score)
    kept = filter_tag_det_res(boxes, dest_h, dest_w, p["order"])
    return dict(seed=seed, w=w, h=h, dest_w=dest_w, dest_h=dest_h, mode=mode,
                boxes=[b.tolist() for b in kept if b is not None],
                scores=[s for b, s in zip(kept, scores) if b is not None])


def main():
    d = sys.argv[1]
    cases = [run(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".bin")]
    cases.sort(key=lambda c: c["seed"])
    json.dump(cases, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
