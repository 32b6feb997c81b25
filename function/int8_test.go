package function_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// truthRow is a manifest image with a known text and how to read it.
type truthRow struct {
	file, truth string
	opts        function.Options
}

// truthRows are the manifest rows with a text to score CER against: a
// ground-truth file or a plain expected text, each read with the default
// configuration and the stages its notes ask for.
func truthRows(t *testing.T) (string, []truthRow) {
	dir, rows := readManifest(t)
	var out []truthRow
	for _, r := range rows {
		e := parseExpectation(r)
		truth := e.wholeText
		if e.gtText != "" {
			truth = e.gtText
		}
		if e.gtFile != "" {
			gt, err := os.ReadFile(filepath.Join(dir, e.gtFile))
			if err != nil {
				t.Fatal(err)
			}
			truth = string(gt)
		}
		if truth == "" {
			continue
		}
		o := function.DefaultOptions()
		o.Stages.Detect = !e.recOnly && !e.clsLabel180
		o.Stages.Classify = !e.noCls && !(e.recOnly && !e.clsLabel180)
		out = append(out, truthRow{file: r.file, truth: truth, opts: o})
	}
	return dir, out
}

type scored struct {
	cer   map[string]float64
	mean  float64
	infer [3]time.Duration // det, cls, rec
	det   map[string]time.Duration
}

// loadModels loads every model kind from files; the caller closes them.
func loadModels(t testing.TB, files function.ModelFiles) function.Models {
	t.Helper()
	var m function.Models
	for _, k := range function.Kinds {
		model, err := function.LoadModel(k, files)
		if err != nil {
			m.Close()
			t.Fatal(err)
		}
		m.Set(model)
	}
	return m
}

func score(t *testing.T, dir string, rows []truthRow, files function.ModelFiles) scored {
	t.Helper()
	m := loadModels(t, files)
	defer m.Close()
	s := scored{cer: map[string]float64{}, det: map[string]time.Duration{}}
	for _, r := range rows {
		data, err := os.ReadFile(filepath.Join(dir, r.file))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imageio.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		res, err := function.Run(context.Background(), m, img, r.opts)
		if err != nil {
			t.Fatal(err)
		}
		s.cer[r.file] = textmetric.CER(res.Text(), r.truth)
		s.mean += s.cer[r.file] / float64(len(rows))
		s.det[r.file] = res.Timings.DetPre + res.Timings.DetInfer + res.Timings.DetPost
		s.infer[0] += res.Timings.DetInfer
		s.infer[1] += res.Timings.ClsInfer
		s.infer[2] += res.Timings.RecInfer
	}
	return s
}

// int8Full scores the whole ground-truth set and each model's int8 version
// alone (docs/quantize.md's figures); by default the test scores int8Rows
// with the default int8 set only, to stay fast.
var int8Full = flag.Bool("int8-full", false, "TestInt8Accuracy: every ground-truth image, and each model's int8 version alone")

// int8Rows are the images the quick run scores: a dense scan, a photo, a
// rotated page and a Chinese poster.
var int8Rows = []string{"paddleocr_11.jpg", "tesseract_phototest-rotated-180.png", "gutenye_direction.jpg", "rapidocr_ch_en_num.jpg"}

// Accuracy gate of an int8 default (issue 14): mean CER no worse than
// fp32's by more than int8MeanCER, no image worse by more than int8ImageCER.
const int8MeanCER, int8ImageCER = 0.005, 0.02

// TestInt8Accuracy holds function.DefaultInt8 to the accuracy gate against
// fp32 on the shared ground truth.
func TestInt8Accuracy(t *testing.T) {
	if testenv.Race() {
		t.Skip("inference-bound (15 s); make test runs it in the pass without -race")
	}
	dir, rows := truthRows(t)
	if !*int8Full {
		rows = slices.DeleteFunc(rows, func(r truthRow) bool { return !slices.Contains(int8Rows, r.file) })
		if len(rows) != len(int8Rows) {
			t.Fatalf("%d of the rows %v in the manifest", len(rows), int8Rows)
		}
	}
	fp := testenv.Models(t)
	variants := [][]function.Kind{function.DefaultInt8}
	if *int8Full {
		variants = append(variants, []function.Kind{function.KindDet}, []function.Kind{function.KindCls}, []function.Kind{function.KindRec})
	}
	for _, kinds := range variants {
		for _, k := range kinds {
			if _, err := os.Stat(fp.Int8(k).Path(k)); err != nil {
				t.Skipf("int8 models missing (run `make deps`): %v", err)
			}
		}
	}
	base := score(t, dir, rows, fp)
	t.Logf("fp32: %d images, mean CER %.4f, inference det %v cls %v rec %v", len(rows), base.mean, base.infer[0], base.infer[1], base.infer[2])
	for i, kinds := range variants {
		s := score(t, dir, rows, fp.Int8(kinds...))
		worst, file := 0.0, ""
		for _, r := range rows {
			if d := s.cer[r.file] - base.cer[r.file]; d > worst {
				worst, file = d, r.file
			}
		}
		t.Logf("int8 %v: mean CER %.4f (%+.4f), worst image %+.4f (%s), inference det %v cls %v rec %v",
			kinds, s.mean, s.mean-base.mean, worst, file, s.infer[0], s.infer[1], s.infer[2])
		if i == 0 && (s.mean-base.mean > int8MeanCER || worst > int8ImageCER) {
			t.Errorf("default int8 %v fails the gate: mean CER %+.4f (max %+.3f), %s %+.4f (max %+.2f)",
				kinds, s.mean-base.mean, int8MeanCER, file, worst, int8ImageCER)
		}
	}
}

func TestParseKinds(t *testing.T) {
	for in, want := range map[string][]function.Kind{
		"rec":         {function.KindRec},
		" det , rec ": {function.KindDet, function.KindRec},
		"cls,cls":     {function.KindCls},
		"none":        nil,
		"det,cls,rec": function.Kinds,
	} {
		got, err := function.ParseKinds(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseKinds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "rec,", "REC", "int8", "det;rec"} {
		if _, err := function.ParseKinds(in); !errors.Is(err, function.ErrInvalidKinds) {
			t.Errorf("ParseKinds(%q): %v, want ErrInvalidKinds", in, err)
		}
	}
	f := function.DefaultModelFiles("/m").Int8(function.KindRec)
	if f.Path(function.KindRec) != "/m/ch_PP-OCRv4_rec_infer.int8.onnx" || f.Path(function.KindDet) != "/m/ch_PP-OCRv4_det_infer.onnx" {
		t.Errorf("Int8(rec): rec %s, det %s", f.Path(function.KindRec), f.Path(function.KindDet))
	}
}

// BenchmarkMagazineRecognition reads the dense magazine scan (133 lines) with
// fp32 and int8 recognition and two recognition batch sizes, alternating
// within each iteration so that every variant sees the same load; it reports
// recognition inference and the whole call per variant, and the page's CER.
func BenchmarkMagazineRecognition(b *testing.B) {
	dir := testenv.Shared(b, "testdata/documents")
	data, err := os.ReadFile(filepath.Join(dir, "tesseract_8087_054.3B.tif"))
	if err != nil {
		b.Fatal(err)
	}
	gt, err := os.ReadFile(filepath.Join(dir, "tesseract_8087_054.3B.gt.txt"))
	if err != nil {
		b.Fatal(err)
	}
	img, _, err := imageio.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	fp := testenv.Models(b)
	if _, err := os.Stat(fp.Int8(function.KindRec).Path(function.KindRec)); err != nil {
		b.Skipf("int8 models missing (run `make deps`): %v", err)
	}
	load := func(files function.ModelFiles) function.Models {
		m := loadModels(b, files)
		b.Cleanup(m.Close)
		return m
	}
	type variant struct {
		name   string
		models function.Models
		batch  int
	}
	f32, i8 := load(fp), load(fp.Int8(function.KindRec))
	var vs []variant
	for _, batch := range []int{6, 12} {
		vs = append(vs, variant{fmt.Sprintf("fp32-batch%d", batch), f32, batch}, variant{fmt.Sprintf("int8-batch%d", batch), i8, batch})
	}
	rec := make([]time.Duration, len(vs))
	total := make([]time.Duration, len(vs))
	for first := true; b.Loop(); first = false {
		for i, v := range vs {
			o := function.DefaultOptions()
			o.RecBatch = v.batch
			res, err := function.Run(context.Background(), v.models, img, o)
			if err != nil {
				b.Fatal(err)
			}
			rec[i] += res.Timings.RecInfer
			total[i] += res.Timings.Total
			if first {
				b.Logf("%s: CER %.4f, %d lines", v.name, textmetric.CER(res.Text(), string(gt)), len(res.Lines))
			}
		}
	}
	for i, v := range vs {
		b.ReportMetric(rec[i].Seconds()*1000/float64(b.N), v.name+"-rec-ms/op")
		b.ReportMetric(total[i].Seconds()*1000/float64(b.N), v.name+"-total-ms/op")
	}
}
