package function

import (
	"context"
	"math"
	"slices"

	"github.com/ocrhost/ocrhost/function/imgproc"
	"github.com/ocrhost/ocrhost/function/layout"
)

// DetScale names how the detection input size is chosen.
type DetScale string

const (
	// DetScaleFixed detects at the size the limits give (DetLimitSideLen,
	// DetMaxSideLen), whatever the size of the text.
	DetScaleFixed DetScale = "fixed"
	// DetScaleAuto detects first at DetProbeSide (or, on an image the
	// fixed size upscales, at the image's own size) to measure the text,
	// then again at the size that brings the median line to DetTextHeight
	// pixels, never above the fixed size; the probe's boxes stand when the
	// text is already large enough there.
	DetScaleAuto DetScale = "auto"
)

// probeSlack is how much smaller than DetTextHeight the probe's lines may
// be and still stand: a second pass costs more than the probe did, and a
// line a little below the best height still reads.
const probeSlack = 1.25

// nearFixed is how close to the fixed size, on the long side, a second
// pass runs at the fixed size instead: there it saves little, and the
// fixed size is the one the presets were measured at. probeMax is the
// largest probe, relative to the fixed size, worth its cost: a probe
// close to the fixed size saves little when it stands, and lines set
// close together can merge at its slightly lower resolution.
const nearFixed, probeMax = 0.9, 0.75

// detectScaled is detect at a w×h input under DetScaleFixed, and at the
// size the text asks for, at most w×h, under DetScaleAuto. The probe is at
// DetProbeSide, or at the image's own size where w×h upscales it and a
// DetProbeSide probe would be too close to w×h to pay.
func detectScaled(ctx context.Context, det *Model, img *imgproc.Image, w, h int, o Options, t *Timings) ([][4][2]float64, []float32, error) {
	ratio := float64(o.DetProbeSide) / float64(max(w, h))
	native := ratio > probeMax
	if native {
		ratio = float64(max(img.W, img.H)) / float64(max(w, h))
	}
	if o.DetScale != DetScaleAuto || ratio > probeMax {
		traceDetSized(ctx, w, h)
		return detect(ctx, det, img, w, h, o, t)
	}
	pw, ph := scaled(w, h, ratio)
	quads, scores, err := detect(ctx, det, img, pw, ph, o, t)
	if err != nil {
		return nil, nil, err
	}
	// Nothing found: text too small to show at the probe looks the same,
	// so the second pass is at the fixed size.
	sw, sh := w, h
	if line := medianLineHeight(quads) * float64(pw) / float64(img.W); line > 0 { // in probe input pixels
		grow := o.DetTextHeight / line
		sw, sh = scaled(pw, ph, grow)
		// A table at a small image's own size loses rows (short cells
		// merge, a tilt goes unseen); it is read at the fixed size, as
		// before the probe. Boxes without text look tabular more often
		// than the page is, which then costs the fixed pass only.
		table := native && o.Tables && tableLike(quads, img.W, img.H)
		if !table && grow <= probeSlack {
			traceDetSized(ctx, pw, ph)
			return quads, scores, nil
		}
		if table || float64(max(sw, sh)) >= nearFixed*float64(max(w, h)) {
			sw, sh = w, h
		}
	}
	traceDetSized(ctx, sw, sh)
	return detect(ctx, det, img, sw, sh, o, t)
}

// tableLike reports whether the layout finds a table among boxes read
// without their text.
func tableLike(quads [][4][2]float64, w, h int) bool {
	lines := make([]layout.Line, len(quads))
	for i, q := range quads {
		lines[i].Box = q
	}
	for _, b := range layout.Analyze(lines, layout.Page{W: w, H: h}).Blocks {
		if b.Type == layout.Table {
			return true
		}
	}
	return false
}

// scaled is w×h scaled by ratio, each side rounded to a multiple of 32 as
// detSize rounds, at least 32.
func scaled(w, h int, ratio float64) (int, int) {
	side := func(v int) int {
		return max(int(math.RoundToEven(float64(int(float64(v)*ratio))/32)*32), 32)
	}
	return side(w), side(h)
}

// medianLineHeight is the median of the boxes' short sides: a line's
// height, whichever way it runs. 0 without boxes.
func medianLineHeight(quads [][4][2]float64) float64 {
	if len(quads) == 0 {
		return 0
	}
	dist := func(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }
	hs := make([]float64, len(quads))
	for i, q := range quads {
		across := (dist(q[0], q[1]) + dist(q[2], q[3])) / 2
		down := (dist(q[0], q[3]) + dist(q[1], q[2])) / 2
		hs[i] = min(across, down)
	}
	slices.Sort(hs)
	return hs[len(hs)/2]
}
