package host

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
)

// A predictor with round figures, so expected values can be written down.
var roundPredictor = Predictor{
	PerImagePixel: 10,
	PerWorkPixel:  1,
	DetBase:       1000,
	PerDetPixel:   100,
	ClsBytes:      50_000,
	RecBase:       2000,
	PerRecColumn:  20,
}

func TestPredictStages(t *testing.T) {
	prm := Params{ImagePixels: 1000, WorkPixels: 500, DetPixels: 600, Recognize: true, Classify: true,
		RecBatch: 6, MaxLineWidth: 1000, Pages: 1, PagesPerBatch: 1}
	const shared = 10*1000 + 500
	det := 1000 + 100*600.0 // 61000
	// Recognition's stage overlaps the image's memory: it adds what its
	// batch needs beyond shared.
	rec := 2000 + 20*6*1000.0 // 122000
	cases := []struct {
		name string
		op   Operation
		prm  func(Params) Params
		want float64
	}{
		{"det", OpDetect, nil, shared + det},
		{"cls", OpClassify, nil, shared + 50_000},
		{"rec", OpRecognize, nil, rec},
		{"ocr: recognition is the largest stage", OpOCR, nil, rec},
		{"ocr without recognition: detection", OpOCR, func(p Params) Params { p.Recognize = false; return p }, shared + det},
		{"ocr without recognition, small detection: classifier", OpOCR, func(p Params) Params {
			p.Recognize, p.DetPixels = false, 100
			return p
		}, shared + 50_000},
		{"ocr without detection or classifier", OpOCR, func(p Params) Params {
			p.DetPixels, p.Classify, p.MaxLineWidth = 0, false, 320
			return p
		}, 2000 + 20*6*320},
		{"a narrow batch counts its own width", OpRecognize, func(p Params) Params { p.MaxLineWidth = 100; return p }, 2000 + 20*6*100},
		{"batch 0 counts as 1", OpRecognize, func(p Params) Params { p.RecBatch = 0; return p }, 2000 + 20*1000},
		{"a batch smaller than the image adds nothing", OpRecognize, func(p Params) Params { p.MaxLineWidth = 50; return p }, shared},
		{"no detection input: no detection stage", OpDetect, func(p Params) Params { p.DetPixels = 0; return p }, shared},
		{"negative sizes count as absent", OpDetect, func(p Params) Params {
			p.ImagePixels, p.WorkPixels, p.DetPixels = -5, -5, -5
			return p
		}, 0},
		{"unknown operation", Operation("translate"), nil, 0},
	}
	for _, c := range cases {
		p := prm
		if c.prm != nil {
			p = c.prm(p)
		}
		if got := roundPredictor.Predict(c.op, p); got != uint64(c.want) {
			t.Errorf("%s: Predict = %d, want %d", c.name, got, uint64(c.want))
		}
	}
}

// With arenas held until a model is idle (onnx.WithKeepArena), a call's
// stages stay resident together; New sets HeldStages from the session
// options.
func TestPredictHeldStages(t *testing.T) {
	prm := Params{ImagePixels: 1000, WorkPixels: 500, DetPixels: 600, Recognize: true, Classify: true,
		RecBatch: 6, MaxLineWidth: 1000, Pages: 1, PagesPerBatch: 1}
	const shared = 10*1000 + 500
	det, rec := 1000+100*600.0, 2000+20*6*1000.0
	held := roundPredictor
	held.HeldStages = true
	if got, want := held.Predict(OpOCR, prm), uint64(det+50_000+rec); got != want {
		t.Errorf("held: Predict = %d, want %d (every stage)", got, want)
	}
	if got, want := held.Predict(OpDetect, prm), uint64(shared+det); got != want {
		t.Errorf("held, detection alone: Predict = %d, want %d", got, want)
	}
	for _, c := range []struct {
		opts []onnx.Option
		want bool
	}{{nil, false}, {[]onnx.Option{onnx.WithKeepArena(0)}, false}, {[]onnx.Option{onnx.WithKeepArena(time.Second)}, true}} {
		h, err := New(WithModelFiles(function.ModelFiles{Dir: t.TempDir()}), WithSessionOptions(c.opts...))
		if err != nil {
			t.Fatal(err)
		}
		if h.cfg.predictor.HeldStages != c.want {
			t.Errorf("session options %d: HeldStages %v, want %v", len(c.opts), h.cfg.predictor.HeldStages, c.want)
		}
		h.Shutdown(context.Background())
	}
}

func TestPredictPages(t *testing.T) {
	one := Params{ImagePixels: 1000, WorkPixels: 1000, DetPixels: 1000, RecBatch: 6, MaxLineWidth: 320}
	page := roundPredictor.Predict(OpOCR, Params{ImagePixels: 1000, WorkPixels: 1000, DetPixels: 1000, Pages: 1, PagesPerBatch: 1})
	if page == 0 {
		t.Fatal("one page predicted 0")
	}
	for _, c := range []struct{ pages, perBatch, times int }{
		{1, 1, 1},
		{10, 1, 1}, // one page at a time: a page's need
		{10, 4, 4}, // four pages held and processed together
		{3, 8, 3},  // a batch cannot hold more pages than the document has
		{0, 0, 1},  // unset: an image
		{-2, 5, 1}, // nonsense counts as one page
		{5, -1, 1},
	} {
		p := one
		p.Pages, p.PagesPerBatch = c.pages, c.perBatch
		if got, want := roundPredictor.Predict(OpOCR, p), uint64(c.times)*page; got != want {
			t.Errorf("Pages %d, PagesPerBatch %d: Predict = %d, want %d (%d pages' need)", c.pages, c.perBatch, got, want, c.times)
		}
	}
}

func TestPredictSaturatesAndIgnoresNonsense(t *testing.T) {
	huge := Params{ImagePixels: math.MaxInt64, WorkPixels: math.MaxInt64, DetPixels: math.MaxInt64,
		Recognize: true, RecBatch: math.MaxInt, MaxLineWidth: math.MaxInt, Pages: math.MaxInt, PagesPerBatch: math.MaxInt}
	if got := DefaultPredictor().Predict(OpOCR, huge); got != math.MaxUint64 {
		t.Errorf("huge params: Predict = %d, want saturation at MaxUint64", got)
	}
	bad := roundPredictor
	bad.PerDetPixel, bad.DetBase = math.NaN(), -1e9
	prm := Params{ImagePixels: 1000, DetPixels: 1000}
	if got, want := bad.Predict(OpDetect, prm), uint64(10*1000); got != want {
		t.Errorf("NaN and negative coefficients: Predict = %d, want %d (their terms dropped)", got, want)
	}
}

func TestDefaultPredictorGrowsWithSize(t *testing.T) {
	p := DefaultPredictor()
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		if v.Field(i).Kind() != reflect.Float64 {
			continue // HeldStages: New's, from the session options
		}
		if f := v.Field(i).Float(); f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			t.Errorf("DefaultPredictor().%s = %v, want a finite figure ≥ 0", v.Type().Field(i).Name, f)
		}
	}
	if !(p.PerDetPixel > 0 && p.PerRecColumn > 0 && p.PerImagePixel+p.PerWorkPixel > 0) {
		t.Errorf("DefaultPredictor() %+v: the image, detection and recognition costs must be positive", p)
	}
	var prev uint64
	for _, side := range []int64{200, 800, 1600, 3200} {
		prm := Params{ImagePixels: side * side, WorkPixels: min(side, 2000) * min(side, 2000), DetPixels: max(side, 736) * max(side, 736),
			Recognize: true, Classify: true, RecBatch: 6, MaxLineWidth: int(3 * min(side, 2000)), Pages: 1, PagesPerBatch: 1}
		got := p.Predict(OpOCR, prm)
		if got <= prev {
			t.Errorf("%dx%d: Predict = %d, not above the smaller image's %d", side, side, got, prev)
		}
		prev = got
	}
}

func TestEstimateRecognition(t *testing.T) {
	uncapped := Predictor{LineHeight: 16}
	capped := Predictor{LineHeight: 16, LineWidthCap: 2000}
	for _, c := range []struct {
		p            Predictor
		w, h, batch  int
		wantB, wantW int
	}{
		{uncapped, 800, 600, 6, 6, 2400}, // a page: a full batch of lines spanning it
		{capped, 800, 600, 6, 6, 2000},   // no line wider than the cap
		{uncapped, 1600, 60, 6, 2, 4800}, // a strip holds two lines
		{uncapped, 1167, 54, 6, 2, 3501},
		{uncapped, 177, 30, 6, 1, 531}, // a single short line
		{capped, 50, 30, 6, 1, 320},    // never below the recogniser's 320
		{Predictor{LineWidthCap: 100}, 5000, 30, 6, 1, 320},
		{uncapped, 2000, 2000, 1, 1, 6000}, // the configured batch caps it
		{Predictor{}, 2000, 2000, 6, 6, 320},
		{uncapped, 0, 0, 6, 1, 320},
		{uncapped, -5, -5, 0, 1, 320},
		{Predictor{LineHeight: 1e-300}, 1 << 40, 48, 6, 2, math.MaxInt32},
	} {
		b, w := c.p.EstimateRecognition(c.w, c.h, c.batch)
		if b != c.wantB || w != c.wantW {
			t.Errorf("%+v.EstimateRecognition(%d, %d, %d) = %d, %d; want %d, %d", c.p, c.w, c.h, c.batch, b, w, c.wantB, c.wantW)
		}
	}
}
