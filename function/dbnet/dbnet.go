// Package dbnet is the DB (differentiable binarization) post-processing of
// PP-OCR text detection: it turns the detector's probability map into text
// boxes exactly as RapidOCR v1.4.4's DBPostProcess followed by
// TextDetector.filter_tag_det_res does (PaddleOCR's variant selectable),
// including OpenCV's and pyclipper's numerics, without OpenCV or cgo.
//
// Contours come from a port of OpenCV's own Suzuki-Abe scan, so their set,
// order and point order (which breaks cv2.minAreaRect ties) are OpenCV's.
// Boxes and scores were checked bit for bit against the Python reference on
// OpenCV 4.6, pyclipper 1.2.1 and shapely 1.8.5 (testdata/golden.json).
// Version notes: cv2.fillPoly follows OpenCV 4.8-4.10, which clips edges
// leaving the mask differently from older releases (and 4.11 changed the
// rasterisation again); cv2.convexHull follows releases up to 4.12. Either
// can only move a score by a fraction of a percent. A box whose score is not
// finite (NaN or infinite probabilities) is dropped; the reference keeps NaN.
package dbnet

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
)

// Errors returned by Boxes; check them with errors.Is.
var (
	ErrInvalidInput  = errors.New("dbnet: invalid input")
	ErrInvalidParams = errors.New("dbnet: invalid parameters")
)

// maxSide bounds every map and image side so that coordinates stay exact in
// float32 and int32 arithmetic.
const maxSide = 1 << 20

// Order selects how filter_tag_det_res orders a box's corners.
type Order int

const (
	// OrderXSort is imutils' method used by RapidOCR v1.4.4: the two
	// leftmost points sorted by y give top-left and bottom-left, the two
	// rightmost top-right and bottom-right.
	OrderXSort Order = iota
	// OrderSumDiff is PaddleOCR >= 2.6: top-left has the smallest x+y,
	// bottom-right the largest; of the rest top-right has the smallest y-x.
	OrderSumDiff
)

// ScoreMode selects how a candidate box is scored against BoxThresh.
type ScoreMode int

const (
	// ScoreFast averages the probability map inside the minimum-area box.
	ScoreFast ScoreMode = iota
	// ScoreSlow averages it inside the contour polygon.
	ScoreSlow
)

// Params are DBPostProcess' settings.
type Params struct {
	// Thresh binarises the map (prob > Thresh); BoxThresh drops boxes
	// whose score is lower.
	Thresh, BoxThresh float32
	// MaxCandidates caps the number of contours examined.
	MaxCandidates int
	// UnclipRatio scales the offset distance area*ratio/perimeter.
	UnclipRatio float64
	// UseDilation dilates the bitmap with a 2x2 kernel first.
	UseDilation bool
	Score       ScoreMode
	Order       Order
}

// RapidOCRParams are RapidOCR v1.4.4's config.yaml values.
func RapidOCRParams() Params {
	return Params{Thresh: 0.3, BoxThresh: 0.5, MaxCandidates: 1000, UnclipRatio: 1.6,
		UseDilation: true, Score: ScoreFast, Order: OrderXSort}
}

// PaddleOCRParams are PaddleOCR's tools/infer defaults.
func PaddleOCRParams() Params {
	return Params{Thresh: 0.3, BoxThresh: 0.6, MaxCandidates: 1000, UnclipRatio: 1.5,
		UseDilation: false, Score: ScoreFast, Order: OrderSumDiff}
}

func (p Params) validate() error {
	switch {
	case isNaN32(p.Thresh) || isNaN32(p.BoxThresh):
		return fmt.Errorf("%w: thresholds must be numbers", ErrInvalidParams)
	case p.MaxCandidates < 0:
		return fmt.Errorf("%w: MaxCandidates %d < 0", ErrInvalidParams, p.MaxCandidates)
	case !(p.UnclipRatio > 0) || math.IsInf(p.UnclipRatio, 1):
		return fmt.Errorf("%w: UnclipRatio %v must be positive and finite", ErrInvalidParams, p.UnclipRatio)
	case p.Score != ScoreFast && p.Score != ScoreSlow:
		return fmt.Errorf("%w: unknown score mode %d", ErrInvalidParams, p.Score)
	case p.Order != OrderXSort && p.Order != OrderSumDiff:
		return fmt.Errorf("%w: unknown order %d", ErrInvalidParams, p.Order)
	}
	return nil
}

func isNaN32(f float32) bool { return f != f }

// pythonFloat recovers the double a Python config holds from its float32
// copy (0.6f -> 0.6): the reference compares the double score with it.
func pythonFloat(f float32) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return float64(f)
	}
	return v
}

var statePool = sync.Pool{New: func() any { return new(state) }}

// Boxes runs DB post-processing on prob, the detector output of size
// mapW×mapH (row-major probabilities). destW×destH is the size of the image
// the detector input was resized from; boxes are mapped back to it with
// half-to-even rounding, clipped, ordered by p.Order and filtered as
// filter_tag_det_res does (each side longer than 3 px). Each box is
// top-left, top-right, bottom-right, bottom-left with integer-valued
// coordinates inside [0,destW-1]×[0,destH-1]; scores are the box scores.
// Boxes come in the order findContours lists the contours (the caller sorts).
func Boxes(prob []float32, mapW, mapH, destW, destH int, p Params) ([][4][2]float64, []float32, error) {
	if err := p.validate(); err != nil {
		return nil, nil, err
	}
	for _, v := range [...]int{mapW, mapH, destW, destH} {
		if v <= 0 || v > maxSide {
			return nil, nil, fmt.Errorf("%w: sizes map %dx%d, image %dx%d must be in [1, %d]",
				ErrInvalidInput, mapW, mapH, destW, destH, maxSide)
		}
	}
	if len(prob)/mapW != mapH || len(prob)%mapW != 0 {
		return nil, nil, fmt.Errorf("%w: map has %d values, want %d×%d", ErrInvalidInput, len(prob), mapW, mapH)
	}
	s := statePool.Get().(*state)
	defer statePool.Put(s)
	boxes, scores := s.run(prob, mapW, mapH, destW, destH, p)
	return boxes, scores, nil
}

// state is the reusable scratch of one Boxes call.
type state struct {
	tr   tracer
	g    geom
	fill filler
	off  offsetter
	pts  []hpt
	poly []ipt
	mask []uint8
}

func (s *state) run(prob []float32, w, h, destW, destH int, p Params) ([][4][2]float64, []float32) {
	s.tr.bitmap(prob, w, h, p.Thresh, p.UseDilation)
	s.tr.scan(w, h)
	boxThresh := pythonFloat(p.BoxThresh)
	var boxes [][4][2]float64
	var scores []float32
	// findContours returns contours in reverse discovery order (each new
	// one is prepended to its list).
	n := s.tr.count()
	for i := n - 1; i >= max(0, n-p.MaxCandidates); i-- {
		box, score, ok := s.candidate(prob, w, h, s.tr.contour(i), boxThresh, p)
		if !ok {
			continue
		}
		var q [4][2]int32
		for k, pt := range box {
			q[k] = [2]int32{mapCoord(pt[0], w, destW), mapCoord(pt[1], h, destH)}
		}
		out, keep := filterTag(q, destW, destH, p.Order)
		if !keep {
			continue
		}
		boxes = append(boxes, out)
		scores = append(scores, float32(score))
	}
	return boxes, scores
}

// candidate turns one contour into an unclipped box in map coordinates
// (boxes_from_bitmap's loop body), reporting false where it is skipped.
func (s *state) candidate(prob []float32, w, h int, contour []ipt, boxThresh float64, p Params) ([4][2]float32, float64, bool) {
	box, sside := s.miniBox(contour)
	if sside < 3 {
		return box, 0, false
	}
	var score float64
	if p.Score == ScoreFast {
		score = s.scoreFast(prob, w, h, box)
	} else {
		score = s.scoreSlow(prob, w, h, contour)
	}
	// The reference skips when box_thresh > score; a score that is not
	// finite (NaN or infinite probabilities) is skipped too, so every
	// returned score is a number.
	if !(score >= boxThresh) || math.IsInf(score, 1) {
		return box, 0, false
	}
	fbox := widen(box)
	path := truncPath(fbox)
	poly := s.off.offset(path[:], unclipDistance(fbox, p.UnclipRatio))
	box, sside = s.miniBox(poly)
	if sside < 3+2 {
		return box, 0, false
	}
	return box, score, true
}

// miniBox is get_mini_boxes on an integer point list.
func (s *state) miniBox(pts []ipt) ([4][2]float32, float32) {
	s.pts = s.pts[:0]
	for _, q := range pts {
		s.pts = append(s.pts, hpt{x: float64(q.x), y: float64(q.y)})
	}
	return s.g.minAreaRectOrdered(s.pts).miniBox()
}

// scoreFast is box_score_fast: the mean probability under cv2.fillPoly of the
// box corners truncated to int32, inside the box's clipped bounding box.
func (s *state) scoreFast(prob []float32, w, h int, box [4][2]float32) float64 {
	minX, maxX := box[0][0], box[0][0]
	minY, maxY := box[0][1], box[0][1]
	for _, q := range box[1:] {
		minX, maxX = min(minX, q[0]), max(maxX, q[0])
		minY, maxY = min(minY, q[1]), max(maxY, q[1])
	}
	xmin := clampInt(int(math.Floor(float64(minX))), 0, w-1)
	xmax := clampInt(int(math.Ceil(float64(maxX))), 0, w-1)
	ymin := clampInt(int(math.Floor(float64(minY))), 0, h-1)
	ymax := clampInt(int(math.Ceil(float64(maxY))), 0, h-1)
	s.poly = s.poly[:0]
	for _, q := range box {
		s.poly = append(s.poly, ipt{int64(q[0] - float32(xmin)), int64(q[1] - float32(ymin))})
	}
	return s.polyMean(prob, w, xmin, ymin, xmax-xmin+1, ymax-ymin+1)
}

// scoreSlow is box_score_slow: the mean probability under cv2.fillPoly of
// the contour itself, inside the contour's bounding box.
func (s *state) scoreSlow(prob []float32, w, h int, contour []ipt) float64 {
	minX, maxX := contour[0].x, contour[0].x
	minY, maxY := contour[0].y, contour[0].y
	for _, q := range contour[1:] {
		minX, maxX = min(minX, q.x), max(maxX, q.x)
		minY, maxY = min(minY, q.y), max(maxY, q.y)
	}
	xmin := clampInt(int(minX), 0, w-1)
	xmax := clampInt(int(maxX), 0, w-1)
	ymin := clampInt(int(minY), 0, h-1)
	ymax := clampInt(int(maxY), 0, h-1)
	s.poly = s.poly[:0]
	for _, q := range contour {
		s.poly = append(s.poly, ipt{q.x - int64(xmin), q.y - int64(ymin)})
	}
	return s.polyMean(prob, w, xmin, ymin, xmax-xmin+1, ymax-ymin+1)
}

// polyMean fills s.poly into an mw×mh mask placed at (x0, y0) and averages
// the map under it.
func (s *state) polyMean(prob []float32, w, x0, y0, mw, mh int) float64 {
	s.mask = grow(s.mask, mw*mh)
	clear(s.mask)
	s.fill.fillPoly(s.mask, mw, mh, s.poly)
	return maskedMean(prob, w, s.mask, x0, y0, mw, mh)
}

// maskedMean is cv2.mean(prob[roi], mask)[0]: a double sum in raster order
// times the reciprocal of the count (0 for an empty mask).
func maskedMean(prob []float32, w int, mask []uint8, x0, y0, mw, mh int) float64 {
	sum := 0.0
	n := 0
	for y := 0; y < mh; y++ {
		row := prob[(y0+y)*w+x0 : (y0+y)*w+x0+mw]
		m := mask[y*mw : y*mw+mw]
		for x, v := range m {
			if v != 0 {
				sum += float64(row[x])
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum * (1 / float64(n))
}

func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// mapCoord is np.clip(np.round(v / mapSize * destSize), 0, destSize) on a
// float32 array, then astype(int32): float32 arithmetic and half-to-even.
func mapCoord(v float32, mapSize, destSize int) int32 {
	q := float32(v / float32(mapSize))
	r := math.RoundToEven(float64(float32(q * float32(destSize))))
	return int32(max(0, min(r, float64(destSize))))
}

// filterTag is filter_tag_det_res for one box: order the corners, clip each
// coordinate to the image with int(), drop boxes with a side of 3 px or less.
func filterTag(q [4][2]int32, w, h int, o Order) ([4][2]float64, bool) {
	if o == OrderSumDiff {
		q = orderSumDiff(q)
	} else {
		q = orderXSort(q)
	}
	var out [4][2]float64
	for i := range q {
		q[i][0] = max(0, min(q[i][0], int32(w-1)))
		q[i][1] = max(0, min(q[i][1], int32(h-1)))
		out[i] = [2]float64{float64(q[i][0]), float64(q[i][1])}
	}
	// int(norm) <= 3 exactly when the squared length is below 16.
	if dist2(q[0], q[1]) < 16 || dist2(q[0], q[3]) < 16 {
		return out, false
	}
	return out, true
}

func dist2(a, b [2]int32) int64 {
	dx, dy := int64(a[0]-b[0]), int64(a[1]-b[1])
	return dx*dx + dy*dy
}

// orderXSort is imutils' order_points: stable argsort by x, the left pair
// sorted by y gives tl, bl and the right pair tr, br.
func orderXSort(q [4][2]int32) [4][2]int32 {
	for i := 1; i < 4; i++ {
		for j := i; j > 0 && q[j-1][0] > q[j][0]; j-- {
			q[j-1], q[j] = q[j], q[j-1]
		}
	}
	tl, bl := q[0], q[1]
	if bl[1] < tl[1] {
		tl, bl = bl, tl
	}
	tr, br := q[2], q[3]
	if br[1] < tr[1] {
		tr, br = br, tr
	}
	return [4][2]int32{tl, tr, br, bl}
}

// orderSumDiff is PaddleOCR's order_points_clockwise (numpy argmin/argmax
// return the first extreme; np.delete of a repeated index removes one row).
func orderSumDiff(q [4][2]int32) [4][2]int32 {
	iMin, iMax := 0, 0
	for i := 1; i < 4; i++ {
		s := q[i][0] + q[i][1]
		if s < q[iMin][0]+q[iMin][1] {
			iMin = i
		}
		if s > q[iMax][0]+q[iMax][1] {
			iMax = i
		}
	}
	var rest [4][2]int32
	n := 0
	for i := 0; i < 4; i++ {
		if i != iMin && i != iMax {
			rest[n] = q[i]
			n++
		}
	}
	dMin, dMax := 0, 0
	for i := 1; i < n; i++ {
		d := rest[i][1] - rest[i][0]
		if d < rest[dMin][1]-rest[dMin][0] {
			dMin = i
		}
		if d > rest[dMax][1]-rest[dMax][0] {
			dMax = i
		}
	}
	return [4][2]int32{q[iMin], rest[dMin], q[iMax], rest[dMax]}
}
