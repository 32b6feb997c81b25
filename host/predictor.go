package host

import "math"

// Operation names the part of the OCR pipeline an invocation runs.
type Operation string

// The operations Predict knows.
const (
	OpDetect    Operation = "det"
	OpClassify  Operation = "cls"
	OpRecognize Operation = "rec"
	// OpOCR is the whole pipeline: detection, then classification and
	// recognition as Params.Classify and Params.Recognize say.
	OpOCR Operation = "ocr"
)

// Params are the sizes one invocation works at, all known before it runs
// (function.PlanFor gives the pixel counts from the image size alone).
type Params struct {
	ImagePixels int64 // decoded image W×H
	WorkPixels  int64 // after the pre-resize (Plan.WorkW×WorkH)
	DetPixels   int64 // detection input (Plan.DetW×DetH), 0 without detection

	Recognize, Classify bool

	// RecBatch is how many lines the recogniser takes at once: the
	// configured batch (6), or fewer when the image cannot hold that many
	// lines; Predictor.EstimateRecognition gives both this and MaxLineWidth.
	RecBatch int
	// MaxLineWidth is the widest recognition input in pixels at height 48
	// (function.Trace's RecSized reports it once the lines are found).
	MaxLineWidth int

	// Pages is the number of pages of a document (1 for an image) and
	// PagesPerBatch how many of them are processed at the same time; the
	// sizes above are those of one page.
	Pages, PagesPerBatch int
	// Ahead is how many more pages are held, rendered, beside those in
	// work (a document renders the next page while one is read): each
	// costs its image, not a stage.
	Ahead int
}

// Predictor turns Params into the memory an invocation will need: the peak
// rise of the process's resident set over one warm invocation, models
// already loaded (their memory is the warm pool's to account for).
//
// The pipeline's stages run one after another and ONNX Runtime's arena is
// shrunk after every run, so only the largest stage's inference memory is
// resident at a time; what the Go side decoded and resized stays for the
// whole call. Recognition adds only what its batch needs beyond that
// image memory: most of it is the scores the binding copies to the Go heap,
// which land in the pages decoding's garbage left resident. Hence, with
// shared = PerImagePixel·ImagePixels + PerWorkPixel·WorkPixels,
//
//	need = shared + max(DetBase + PerDetPixel·DetPixels,
//	                    ClsBytes,
//	                    RecBase + PerRecColumn·RecBatch·MaxLineWidth − shared)
//
// for one page, times the pages processed together. Not included: the first
// recognition at a new widest shape leaves memory resident for good, which
// shows in the measured use of every later admission instead. The fields are exported
// so that a deployment can recalibrate (different thread counts, allocator
// or ONNX Runtime build change the figures): host/predict_test.go's
// TestCalibratePredictor prints them for the machine it runs on.
type Predictor struct {
	// PerImagePixel is what decoding costs per decoded pixel: the
	// decoder's own image and the BGR copy that crops are cut from.
	PerImagePixel float64
	// PerWorkPixel is the pre-resized copy, per work pixel.
	PerWorkPixel float64
	// DetBase and PerDetPixel are the detection stage: the letterboxed and
	// resized input, its float32 tensor, ONNX Runtime's activations and the
	// probability map copied back.
	DetBase, PerDetPixel float64
	// ClsBytes is the direction classifier's stage, whose batch shape is
	// fixed (6×3×48×192).
	ClsBytes float64
	// RecBase and PerRecColumn are the recognition stage per column of its
	// widest batch (RecBatch × MaxLineWidth): input tensor, activations, and
	// the per-step class probabilities (6625 classes every 8 columns), once
	// in ONNX Runtime and once copied to Go, with the garbage Go's collector
	// lets pile up between batches.
	RecBase, PerRecColumn float64

	// LineHeight (work pixels) and LineWidthCap (pixels at height 48)
	// shape EstimateRecognition's guess of the widest recognition input.
	LineHeight, LineWidthCap float64

	// HeldStages says each stage's inference memory stays while the call
	// runs (onnx.WithKeepArena: an arena is given back only once its model
	// is idle), so the stages add up instead of the largest alone. New
	// sets it from the session options.
	HeldStages bool
}

// minRecWidth is the width EstimateRecognition never goes below: the
// recogniser pads a batch of short lines to at most 320 (RapidOCR's
// width), so a page of them is not underestimated.
const minRecWidth = 320

// DefaultPredictor is calibrated on this repository's pipeline: ONNX Runtime
// 1.30 CPU sessions with onnx.DefaultOptions (arena on, shrunk after each
// run, 2 intra-op threads), GOGC=100, glibc malloc set up by TuneAllocator,
// on a shared 2-core x86-64 machine, with
//
//	go test ./host -run TestCalibratePredictor -calibrate -v -timeout 30m
//
// It measures the peak RSS rise of warm invocations (median of 5) on 17
// rendered pages and 6 real images and fits the image and detection terms
// (detection alone, at the fixed size and at the size det_scale auto
// chose, which the host revises an auto-sized call's prediction to)
// by least squares of the relative error on detection alone, the recognition terms on single
// lines and on pages where recognition outweighed detection, and the
// recognition estimate by the smallest rms error of the whole pipeline
// (its errors are in docs/figures.md, which also says why LineHeight and
// LineWidthCap are the earlier fit's). The fit holds with
// TuneAllocator only: without it the rises vary from run to run.
func DefaultPredictor() Predictor {
	return Predictor{
		PerImagePixel: 8.27,
		PerWorkPixel:  0,
		DetBase:       0,
		PerDetPixel:   148.2,
		ClsBytes:      1.55e6,
		RecBase:       0,
		PerRecColumn:  12.12e3,
		LineHeight:    26,
		LineWidthCap:  1760,
	}
}

// Predict returns the bytes an invocation of op with prm will need beyond
// the loaded models. Zero or negative sizes count as absent; results too
// large for uint64 saturate.
func (p Predictor) Predict(op Operation, prm Params) uint64 {
	pos := func(v float64) float64 {
		if v > 0 {
			return v
		}
		return 0 // also NaN, from a nonsensical override
	}
	px := func(n int64) float64 { return float64(max(n, 0)) }

	shared := pos(p.PerImagePixel*px(prm.ImagePixels)) + pos(p.PerWorkPixel*px(prm.WorkPixels))
	det := 0.0
	if prm.DetPixels > 0 {
		det = pos(p.DetBase) + pos(p.PerDetPixel*px(prm.DetPixels))
	}
	cls := pos(p.ClsBytes)
	cols := float64(max(prm.RecBatch, 1)) * float64(max(prm.MaxLineWidth, 0))
	rec := pos(pos(p.RecBase) + pos(p.PerRecColumn*cols) - shared)

	var stage float64
	switch op {
	case OpDetect:
		stage = det
	case OpClassify:
		stage = cls
	case OpRecognize:
		stage = rec
	case OpOCR:
		add := func(a, b float64) float64 { return max(a, b) }
		if p.HeldStages {
			add = func(a, b float64) float64 { return a + b }
		}
		stage = det
		if prm.Classify {
			stage = add(stage, cls)
		}
		if prm.Recognize {
			stage = add(stage, rec)
		}
	default:
		return 0
	}
	together := max(min(prm.PagesPerBatch, prm.Pages), 1)
	need := float64(together)*(shared+stage) + float64(max(prm.Ahead, 0))*pos(p.PerImagePixel*px(prm.ImagePixels))
	if need >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(need)
}

// minLinePitch is the closest two lines of text come, in work pixels:
// an image lower than RecBatch pitches cannot fill a recognition batch.
const minLinePitch = 24

// EstimateRecognition is the recommended Params.RecBatch and MaxLineWidth
// for a workW×workH work image (function.Plan's WorkW, WorkH) and the
// configured batch: a full batch of lines that span the work image at
// LineHeight, no wider than LineWidthCap, and fewer lines when the image
// is too low to hold a batch. Text size cannot be known before detection,
// so both figures are calibrated to typical content, not to the worst
// case (see Predictor).
func (p Predictor) EstimateRecognition(workW, workH, recBatch int) (batch, maxLineWidth int) {
	batch = max(min(recBatch, workH/minLinePitch), 1)
	w := float64(minRecWidth)
	if p.LineHeight > 0 {
		w = max(w, 48*float64(max(workW, 0))/p.LineHeight)
	}
	if p.LineWidthCap > 0 {
		w = min(w, max(p.LineWidthCap, minRecWidth))
	}
	return batch, int(min(w, math.MaxInt32))
}
