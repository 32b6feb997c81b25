// Package function is the OCR function: PP-OCRv4 text detection, 0/180°
// direction classification and recognition on ONNX Runtime, following
// RapidOCR v1.4.4 step by step (../shared/docs/ppocr-pipeline.md, mirrored
// in docs/pipeline.md) so that its outputs match the reference pipeline.
//
// The models are loaded by LoadModel and owned by the caller (the host's
// warm pool); Run borrows them for one image.
package function

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/ocrhost/ocrhost/function/dbnet"
	"github.com/ocrhost/ocrhost/function/imgproc"
	"github.com/ocrhost/ocrhost/function/layout"
	"github.com/ocrhost/ocrhost/internal/parallel"
)

// ErrBadImage means the image cannot be processed (e.g. it collapses to
// zero pixels after resizing).
var ErrBadImage = errors.New("function: image cannot be processed")

// Models are the loaded models one call uses; a stage's model may be nil
// when the options do not run that stage.
type Models struct {
	Det, Cls, Rec *Model
}

// Set puts model into the slot of its kind.
func (m *Models) Set(model *Model) {
	switch model.Kind {
	case KindDet:
		m.Det = model
	case KindCls:
		m.Cls = model
	case KindRec:
		m.Rec = model
	}
}

// Close closes every model present.
func (m Models) Close() {
	for _, model := range []*Model{m.Det, m.Cls, m.Rec} {
		model.Close()
	}
}

func (m Models) check(o Options) error {
	for _, need := range []struct {
		on bool
		m  *Model
		k  Kind
	}{{o.Stages.Detect, m.Det, KindDet}, {o.Stages.Classify, m.Cls, KindCls}, {o.Stages.Recognize, m.Rec, KindRec}} {
		if need.on && need.m == nil {
			return fmt.Errorf("%w: stage %s requested", ErrModelUnavailable, need.k)
		}
	}
	return nil
}

// crop is one text region cut out for classification and recognition.
type crop struct {
	img     *imgproc.Image
	box     Quad // in original image coordinates
	score   float32
	text    string
	conf    float32
	tall    bool    // turned 90° counter-clockwise before recognition
	rotated bool    // turned 180° by the direction classifier
	p180    float32 // the classifier's probability of 180°
	glyphs  []glyph // the recognised characters and where CTC put them
	stepW   float64 // width of one CTC time step in img's pixels
}

// Run OCRs one decoded image. Lines come back in o.Order; with recognition
// off, each line is a detected box with an empty text and the box score as
// its confidence.
func Run(ctx context.Context, m Models, img *imgproc.Image, o Options) (*Result, error) {
	if err := m.check(o); err != nil {
		return nil, err
	}
	start := time.Now()
	res := &Result{Width: img.W, Height: img.H}
	t := &res.Timings

	plan, err := PlanFor(img.W, img.H, o)
	if err != nil {
		return nil, err
	}
	work := img
	for _, sz := range plan.Resizes {
		work = imgproc.ResizeLinear(work, sz[0], sz[1])
	}
	ratioW, ratioH := float64(img.W)/float64(work.W), float64(img.H)/float64(work.H)

	var crops []*crop
	if o.Stages.Detect {
		padTop := plan.PadTop
		if padTop > 0 {
			work = imgproc.PadVertical(work, padTop, padTop)
		}
		quads, scores, err := detectScaled(ctx, m.Det, work, plan.DetW, plan.DetH, o, t)
		if err != nil {
			return nil, err
		}
		order := layout.RapidOCRSort(quads)
		tc := time.Now()
		crops = make([]*crop, len(order))
		parallel.For(len(order), func(n int) {
			q := quads[order[n]]
			ci, tall := cropQuad(work, q)
			c := &crop{img: ci, tall: tall, score: scores[order[n]]}
			for k, p := range q {
				c.box[k] = Point{
					X: clamp((p[0])*ratioW, float64(img.W)),
					Y: clamp((p[1]-float64(padTop))*ratioH, float64(img.H)),
				}
			}
			crops[n] = c
		})
		t.Crop = time.Since(tc)
	} else {
		// Recognition only: the whole (pre-resized) input is one line.
		crops = []*crop{{img: work, box: Quad{{0, 0}, {float64(img.W), 0}, {float64(img.W), float64(img.H)}, {0, float64(img.H)}}, score: 1}}
	}

	if o.Stages.Classify && len(crops) > 0 {
		tc := time.Now()
		if err := classify(ctx, m.Cls, crops, o, t); err != nil {
			return nil, err
		}
		t.Classify = time.Since(tc)
	}

	kept := crops
	if o.Stages.Recognize && len(crops) > 0 {
		recSized(ctx, crops, o)
		tr := time.Now()
		if err := recognize(ctx, m.Rec, crops, o, t); err != nil {
			return nil, err
		}
		if o.Stages.Classify && o.PageOrientation {
			if err := rereadAgainstPage(ctx, m.Rec, crops, o, t); err != nil {
				return nil, err
			}
		}
		kept = crops[:0:0]
		for _, c := range crops {
			if c.conf >= o.DropScore {
				kept = append(kept, c)
			} else {
				res.Dropped++
			}
		}
		t.Recognize = time.Since(tr)
	} else {
		for _, c := range crops {
			c.conf = c.score
		}
	}

	to := time.Now()
	res.Lines = make([]Line, len(kept))
	if o.Order == OrderReading && len(kept) > 0 {
		ordered, blocks, upright := analyzeLayout(img, kept)
		for i, c := range ordered {
			res.Lines[i] = Line{Text: c.text, Confidence: c.conf, Box: c.box, Rotated: c.rotated, Words: c.words()}
		}
		res.Blocks = blocks
		res.figureText = o.FigureText
		if o.Tables && upright {
			tt := time.Now()
			if err := readTables(ctx, m, img, res, o); err != nil {
				return nil, err
			}
			t.Tables = time.Since(tt)
		}
	} else {
		for i, c := range kept {
			res.Lines[i] = Line{Text: c.text, Confidence: c.conf, Box: c.box, Rotated: c.rotated, Words: c.words()}
		}
	}
	t.Order = time.Since(to) - t.Tables
	t.Total = time.Since(start)
	return res, nil
}

// analyzeLayout orders the lines as a person reads the page and groups
// them into typed blocks whose line indices point into the ordered lines.
// The page is turned upright first, so a rotated page reads as an upright
// one; pictures are looked for only on a page that needs no turn, as the
// ink map is measured on the image as stored.
func analyzeLayout(img *imgproc.Image, lines []*crop) ([]*crop, []Block, bool) {
	turn := pageTurn(lines)
	w, h := img.W, img.H
	if turn == turnCW || turn == turnCCW {
		w, h = h, w
	}
	in := make([]layout.Line, len(lines))
	for i, c := range lines {
		in[i] = layout.Line{Box: turn.apply(c.box, img.W, img.H), Text: c.text}
	}
	page := layout.Page{W: w, H: h}
	if turn == turnNone {
		page.Ink = layout.NewInk(img.Pix, img.W, img.H)
	}
	ordered, blocks := applyLayout(layout.Analyze(in, page), lines, func(c *crop) Quad { return c.box })
	return ordered, blocks, turn == turnNone
}

// applyLayout puts items in lay's reading order and builds lay's blocks
// over them, their line indices pointing into the ordered items and their
// boxes bounding the items' boxes as box gives them.
func applyLayout[T any](lay layout.Layout, items []T, box func(T) Quad) ([]T, []Block) {
	ordered := make([]T, len(items))
	pos := make([]int, len(items))
	for i, j := range lay.Order {
		ordered[i] = items[j]
		pos[j] = i
	}
	blocks := make([]Block, len(lay.Blocks))
	for k, b := range lay.Blocks {
		idx := make([]int, len(b.Lines))
		bounds := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
		for n, j := range b.Lines {
			idx[n] = pos[j]
			for _, p := range box(items[j]) {
				bounds[0], bounds[1] = min(bounds[0], p.X), min(bounds[1], p.Y)
				bounds[2], bounds[3] = max(bounds[2], p.X), max(bounds[3], p.Y)
			}
		}
		blocks[k] = Block{Type: string(b.Type), Box: bounds, Lines: idx}
	}
	return ordered, blocks
}

// turn is how a reader would turn the page before reading it.
type turn int

const (
	turnNone turn = iota
	turn180
	turnCW  // page content lies rotated 90° counter-clockwise
	turnCCW // page content lies rotated 90° clockwise, or is vertical CJK text
)

// pageTurn infers the page's orientation from its lines: most lines tall
// means the text runs vertically. Tall crops that read upright after the
// 90° counter-clockwise turn belong to a page rotated clockwise, or to
// vertical CJK text, and both read right to left, each column top to
// bottom; tall crops the classifier had to flip belong to a page rotated
// counter-clockwise. Most lines flipped on a level page means upside down.
func pageTurn(lines []*crop) turn {
	tall, tallFlipped, flipped := 0, 0, 0
	for _, c := range lines {
		if c.tall {
			tall++
			if c.rotated {
				tallFlipped++
			}
		}
		if c.rotated {
			flipped++
		}
	}
	switch {
	case 2*tall > len(lines) && 2*tallFlipped > tall:
		return turnCW
	case 2*tall > len(lines):
		return turnCCW
	case 2*flipped > len(lines):
		return turn180
	}
	return turnNone
}

// apply maps a box on a w×h page into the turned page's coordinates,
// corners re-ordered top-left first.
func (t turn) apply(q Quad, w, h int) layout.Quad {
	var pts [4][2]float64
	for k, p := range q {
		switch t {
		case turn180:
			pts[k] = [2]float64{float64(w) - p.X, float64(h) - p.Y}
		case turnCCW:
			pts[k] = [2]float64{p.Y, float64(w) - p.X}
		case turnCW:
			pts[k] = [2]float64{float64(h) - p.Y, p.X}
		default:
			pts[k] = [2]float64{p.X, p.Y}
		}
	}
	if t == turnNone {
		return pts
	}
	return orderCorners(pts)
}

// orderCorners sorts four points into top-left, top-right, bottom-right,
// bottom-left by the sum/difference rule.
func orderCorners(p [4][2]float64) layout.Quad {
	var q layout.Quad
	tl, br := 0, 0
	for i := range p {
		if p[i][0]+p[i][1] < p[tl][0]+p[tl][1] {
			tl = i
		}
		if p[i][0]+p[i][1] > p[br][0]+p[br][1] {
			br = i
		}
	}
	var rest []int
	for i := range p {
		if i != tl && i != br {
			rest = append(rest, i)
		}
	}
	if len(rest) != 2 { // degenerate: all points equal
		return p
	}
	tr, bl := rest[0], rest[1]
	if p[tr][1]-p[tr][0] > p[bl][1]-p[bl][0] {
		tr, bl = bl, tr
	}
	q[0], q[1], q[2], q[3] = p[tl], p[tr], p[br], p[bl]
	return q
}

func clamp(v, hi float64) float64 {
	return math.Min(math.Max(v, 0), hi)
}

// Plan is the sizes one call works at, known from the image size alone:
// the memory guard predicts an invocation's need from it.
type Plan struct {
	// Resizes are the pre-resize steps in order (RapidOCR may apply two).
	Resizes [][2]int
	// WorkW, WorkH is the image crops are cut from, before letterboxing.
	WorkW, WorkH int
	// PadTop rows of black are added above and below for detection.
	PadTop int
	// DetW, DetH is the detection input (0 when detection is off).
	DetW, DetH int
}

// PlanFor computes the Plan of a w×h image under o.
func PlanFor(w, h int, o Options) (Plan, error) {
	p := Plan{WorkW: w, WorkH: h}
	// Global pre-resize (RapidOCR main.py preprocess): ratio from the long
	// or short side, truncate, round each side to a multiple of 32 (half to
	// even, as Python).
	step := func(ratio float64) error {
		rw := int(math.RoundToEven(float64(int(float64(p.WorkW)*ratio))/32) * 32)
		rh := int(math.RoundToEven(float64(int(float64(p.WorkH)*ratio))/32) * 32)
		if rw <= 0 || rh <= 0 {
			return fmt.Errorf("%w: %dx%d resizes to %dx%d", ErrBadImage, w, h, rw, rh)
		}
		p.Resizes = append(p.Resizes, [2]int{rw, rh})
		p.WorkW, p.WorkH = rw, rh
		return nil
	}
	if o.MaxSideLen > 0 && max(p.WorkW, p.WorkH) > o.MaxSideLen {
		if err := step(float64(o.MaxSideLen) / float64(max(p.WorkW, p.WorkH))); err != nil {
			return p, err
		}
	}
	if o.MinSideLen > 0 && min(p.WorkW, p.WorkH) < o.MinSideLen {
		if err := step(float64(o.MinSideLen) / float64(min(p.WorkW, p.WorkH))); err != nil {
			return p, err
		}
	}
	if !o.Stages.Detect {
		return p, nil
	}
	dh := p.WorkH
	if o.Letterbox && (p.WorkH <= 30 || float64(p.WorkW)/float64(p.WorkH) > 8) {
		newH := max(int(float64(p.WorkW)/8), 30) * 2
		p.PadTop = int(math.Abs(float64(newH-p.WorkH)) / 2)
		dh += 2 * p.PadTop
	}
	p.DetW, p.DetH = detSize(p.WorkW, dh, o)
	if p.DetW <= 0 || p.DetH <= 0 {
		return p, fmt.Errorf("%w: %dx%d has no detection size", ErrBadImage, w, h)
	}
	return p, nil
}

// detSize is DetPreProcess.resize's target size.
func detSize(w, h int, o Options) (int, int) {
	ratio := 1.0
	side := float64(o.DetLimitSideLen)
	if o.DetLimitType == "max" {
		if long := max(w, h); float64(long) > side {
			ratio = side / float64(long)
		}
	} else if short := min(w, h); float64(short) < side {
		ratio = side / float64(short)
		if capped := float64(o.DetMaxSideLen) / float64(max(w, h)); o.DetMaxSideLen > 0 && capped < ratio {
			ratio = max(capped, 1)
		}
	}
	rw := int(math.RoundToEven(float64(int(float64(w)*ratio))/32) * 32)
	rh := int(math.RoundToEven(float64(int(float64(h)*ratio))/32) * 32)
	return rw, rh
}

func detect(ctx context.Context, det *Model, img *imgproc.Image, w, h int, o Options, t *Timings) ([][4][2]float64, []float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	tp := time.Now()
	resized := img
	if w != img.W || h != img.H {
		resized = imgproc.ResizeLinear(img, w, h)
	}
	in := make([]float32, 3*w*h)
	imgproc.NormalizeCHW(resized, in, w, o.DetMean, o.DetStd)
	t.DetPre += time.Since(tp) // += : DetScaleAuto may detect twice

	shape := []int64{1, 3, int64(h), int64(w)}
	traceInput(ctx, KindDet, in, shape)
	ti := time.Now()
	var quads [][4][2]float64
	var scores []float32
	// DB post-processing reads the probability map where ORT left it.
	err := det.session.RunFunc(in, shape, func(out []float32, shape []int64) error {
		t.DetInfer += time.Since(ti)
		if len(shape) != 4 || shape[2] != int64(h) || shape[3] != int64(w) {
			return fmt.Errorf("function: det output shape %v for input %dx%d", shape, w, h)
		}
		tq := time.Now()
		var err error
		quads, scores, err = dbnet.Boxes(out, w, h, img.W, img.H, o.DB)
		t.DetPost += time.Since(tq)
		return err
	})
	return quads, scores, err
}

// cropQuad is get_rotate_crop_image: a perspective crop of the box, turned
// 90° counter-clockwise when it is at least 1.5 times taller than wide.
func cropQuad(img *imgproc.Image, q [4][2]float64) (*imgproc.Image, bool) {
	dist := func(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }
	w := int(math.Max(dist(q[0], q[1]), dist(q[2], q[3])))
	h := int(math.Max(dist(q[0], q[3]), dist(q[1], q[2])))
	w, h = max(w, 1), max(h, 1)
	c := imgproc.WarpPerspective(img, q, w, h)
	if float64(c.H)/float64(c.W) >= 1.5 {
		return imgproc.Rotate90CCW(c), true
	}
	return c, false
}

// byAspect returns crop indices sorted by width/height ascending, as both
// the classifier and the recogniser batch them (np.argsort is not stable
// for ties, but ties do not change the result beyond padding).
func byAspect(crops []*crop) []int {
	idx := make([]int, len(crops))
	ratio := make([]float64, len(crops))
	for i, c := range crops {
		idx[i] = i
		ratio[i] = float64(c.img.W) / float64(c.img.H)
	}
	sort.SliceStable(idx, func(a, b int) bool { return ratio[idx[a]] < ratio[idx[b]] })
	return idx
}

var halfNorm = struct{ mean, std [3]float32 }{[3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5}}

// normLine resizes a crop to height 48 and width min(ceil(48·w/h), maxW)
// and writes it normalised into dst (a [3,48,maxW] slot, pre-zeroed).
func normLine(c *imgproc.Image, dst []float32, maxW int) {
	const hgt = 48
	rw := lineWidth(c, maxW)
	imgproc.NormalizeCHW(imgproc.ResizeLinear(c, rw, hgt), dst, maxW, halfNorm.mean, halfNorm.std)
}

// lineWidth is the width normLine resizes crop c to, at most maxW.
func lineWidth(c *imgproc.Image, maxW int) int {
	rw := maxW
	if cw := math.Ceil(48 * (float64(c.W) / float64(c.H))); cw <= float64(maxW) {
		rw = int(cw)
	}
	return max(rw, 1)
}

// clsSettle lines, all classified with at least clsSure one way, settle the
// page's orientation where the page decides (PageOrientation): the rest of
// its lines take that orientation without the classifier. Lines go through
// it shortest first (byAspect), so the settling ones are the least sure kind.
const clsSettle, clsSure = 12, 0.95

func classify(ctx context.Context, cls *Model, crops []*crop, o Options, t *Timings) error {
	const clsW, clsH = 192, 48
	idx := byAspect(crops)
	for b := 0; b < len(idx); b += o.ClsBatch {
		if o.PageOrientation && b >= clsSettle {
			if flipped, ok := settled(crops, idx[:b]); ok {
				for _, ci := range idx[b:] {
					if flipped {
						crops[ci].p180 = 1
						crops[ci].flip()
					}
				}
				break
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := idx[b:min(b+o.ClsBatch, len(idx))]
		in := make([]float32, len(batch)*3*clsH*clsW)
		parallel.For(len(batch), func(i int) {
			normLine(crops[batch[i]].img, in[i*3*clsH*clsW:(i+1)*3*clsH*clsW], clsW)
		})
		traceInput(ctx, KindCls, in, []int64{int64(len(batch)), 3, clsH, clsW})
		ti := time.Now()
		out, shape, err := cls.session.Run(in, int64(len(batch)), 3, clsH, clsW)
		t.ClsInfer += time.Since(ti)
		if err != nil {
			return err
		}
		if len(shape) != 2 || shape[0] != int64(len(batch)) || shape[1] != 2 {
			return fmt.Errorf("function: cls output shape %v", shape)
		}
		for i, ci := range batch {
			p0, p180 := out[2*i], out[2*i+1]
			crops[ci].p180 = p180
			// Label 180 wins the argmax only when strictly larger, as np.argmax
			// picks the first maximum.
			if p180 > p0 && p180 > o.ClsThresh {
				crops[ci].flip()
			}
		}
	}
	// A page is turned as a whole: once most lines are confidently upside
	// down, a line the classifier also leans to 180° on (but below the
	// threshold, typical of short or symmetric lines) is turned too.
	flipped := 0
	for _, c := range crops {
		if c.rotated {
			flipped++
		}
	}
	if o.PageOrientation && 2*flipped > len(crops) {
		for _, c := range crops {
			if !c.rotated && c.p180 > 0.5 {
				c.flip()
			}
		}
	}
	return nil
}

// settled reports whether the classified lines done all lean one way with
// at least clsSure, and which.
func settled(crops []*crop, done []int) (flipped, ok bool) {
	up, down := 0, 0
	for _, ci := range done {
		switch p := crops[ci].p180; {
		case p >= clsSure:
			down++
		case p <= 1-clsSure:
			up++
		}
	}
	return down == len(done), up == len(done) || down == len(done)
}

func (c *crop) flip() {
	c.img = imgproc.Rotate180(c.img)
	c.rotated = true
}

// recH is the recogniser's input height, recMinW RapidOCR's least width.
const recH, recMinW = 48, 320.0

// recBatches splits crops, in order of aspect, into the recogniser's
// batches of at most n.
func recBatches(crops []*crop, n int) [][]int {
	idx := byAspect(crops)
	var out [][]int
	for b := 0; b < len(idx); b += n {
		out = append(out, idx[b:min(b+n, len(idx))])
	}
	return out
}

// batchWidth is the input width of a batch: RecWidth of its widest line.
func batchWidth(crops []*crop, batch []int, o Options) int {
	widest := 0.0
	for _, ci := range batch {
		widest = math.Max(widest, float64(crops[ci].img.W)/float64(crops[ci].img.H))
	}
	return RecWidth(widest, o)
}

// RecWidth is the recogniser's input width, at height 48, for a batch
// whose widest line has width/height ratio widest: that line's width, at
// least 320 (RapidOCR's). With RecTight, the least is one line height past
// the widest line where that is under 320: the model emits a line's last
// character only with blank columns after it, and short lines (table
// cells, labels) padded to 320 are mostly padding.
func RecWidth(widest float64, o Options) int {
	least := recMinW / recH
	if o.RecTight {
		least = math.Min(least, widest+1)
	}
	return int(recH * math.Max(widest, least))
}

// recSized reports the largest recognition batch, lines × width, to the
// trace.
func recSized(ctx context.Context, crops []*crop, o Options) {
	lines, width := 0, 0
	for _, b := range recBatches(crops, o.RecBatch) {
		if w := batchWidth(crops, b, o); len(b)*w > lines*width {
			lines, width = len(b), w
		}
	}
	if lines > 0 {
		traceRecSized(ctx, lines, width)
	}
}

func recognize(ctx context.Context, rec *Model, crops []*crop, o Options, t *Timings) error {
	for _, batch := range recBatches(crops, o.RecBatch) {
		if err := ctx.Err(); err != nil {
			return err
		}
		imgW := batchWidth(crops, batch, o)
		slot := 3 * recH * imgW
		in := make([]float32, len(batch)*slot)
		parallel.For(len(batch), func(i int) {
			normLine(crops[batch[i]].img, in[i*slot:(i+1)*slot], imgW)
		})
		shape := []int64{int64(len(batch)), 3, recH, int64(imgW)}
		traceInput(ctx, KindRec, in, shape)
		ti := time.Now()
		// CTC decoding reads the scores where ORT left them.
		err := rec.session.RunFunc(in, shape, func(out []float32, shape []int64) error {
			t.RecInfer += time.Since(ti)
			if len(shape) != 3 || shape[0] != int64(len(batch)) || int(shape[2]) != len(rec.charset) {
				return fmt.Errorf("function: rec output shape %v, dictionary has %d classes", shape, len(rec.charset))
			}
			steps, classes := int(shape[1]), int(shape[2])
			parallel.For(len(batch), func(i int) {
				c := crops[batch[i]]
				c.text, c.conf, c.glyphs = ctcGreedy(out[i*steps*classes:(i+1)*steps*classes], steps, classes, rec.charset)
				// A step spans imgW/steps input columns (the model's
				// horizontal stride); the crop was resized to lineWidth.
				c.stepW = float64(imgW) / float64(steps) * float64(c.img.W) / float64(lineWidth(c.img, imgW))
			})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rereadAgainstPage recognises once more, turned the other way, every line
// whose classifier verdict disagrees with the page's orientation (the
// majority), and keeps the reading of higher confidence. The classifier
// flips some upright lines of clean text, and a flipped line reads as
// nothing: without this, such lines were dropped as unreadable.
func rereadAgainstPage(ctx context.Context, rec *Model, crops []*crop, o Options, t *Timings) error {
	flipped := 0
	for _, c := range crops {
		if c.rotated {
			flipped++
		}
	}
	pageFlipped := 2*flipped > len(crops)
	var others []*crop
	for _, c := range crops {
		if c.rotated != pageFlipped {
			others = append(others, &crop{img: imgproc.Rotate180(c.img), rotated: !c.rotated})
		}
	}
	if len(others) == 0 {
		return nil
	}
	if err := recognize(ctx, rec, others, o, t); err != nil {
		return err
	}
	k := 0
	for _, c := range crops {
		if c.rotated == pageFlipped {
			continue
		}
		if alt := others[k]; alt.conf > c.conf {
			c.img, c.text, c.conf, c.rotated = alt.img, alt.text, alt.conf, alt.rotated
			c.glyphs, c.stepW = alt.glyphs, alt.stepW
		}
		k++
	}
	return nil
}

// ctcGreedy is PaddleOCR's CTCLabelDecode: argmax per step, drop blanks and
// repeats of the previous raw step; confidence is the mean of the kept
// steps' probabilities, 0 when nothing is kept. The glyphs say at which
// steps each kept character was read, for word boxes.
func ctcGreedy(probs []float32, steps, classes int, charset []string) (string, float32, []glyph) {
	var text []byte
	var glyphs []glyph
	var sum float32
	n := 0
	prev := -1
	for s := 0; s < steps; s++ {
		row := probs[s*classes : (s+1)*classes]
		best, bp := 0, row[0]
		for k := 1; k < classes; k++ {
			if row[k] > bp {
				best, bp = k, row[k]
			}
		}
		if best != 0 && best != prev {
			text = append(text, charset[best]...)
			glyphs = append(glyphs, glyph{text: charset[best], from: s, to: s, p: bp})
			sum += bp
			n++
		} else if best != 0 {
			glyphs[len(glyphs)-1].to = s
		}
		prev = best
	}
	if n == 0 {
		return "", 0, nil
	}
	return string(text), sum / float32(n), glyphs
}
