package quantize_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/dbnet"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/function/imgproc"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/quantize"
)

// quantized writes the int8 version of model kind k into a temporary folder
// and returns the fp32 and int8 paths.
func quantized(t *testing.T, files function.ModelFiles, k function.Kind, opts ...quantize.Option) (string, string) {
	t.Helper()
	src := files.Path(k)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	q, rep, err := quantize.Bytes(data, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Conv+rep.MatMul == 0 || rep.OpsetTo < 11 {
		t.Fatalf("%s: nothing quantized: %+v", k, rep)
	}
	if float64(len(q)) > sizeRatio*float64(len(data)) {
		t.Errorf("%s: int8 model is %d bytes, fp32 %d: want at most %.1f×", k, len(q), len(data), sizeRatio)
	}
	dst := filepath.Join(t.TempDir(), function.Int8Name(filepath.Base(src)))
	if err := os.WriteFile(dst, q, 0o644); err != nil {
		t.Fatal(err)
	}
	return src, dst
}

func open(t testing.TB, path string) *onnx.Session {
	t.Helper()
	s, err := onnx.Open(path, onnx.WithThreads(1, 1))
	if err != nil {
		t.Fatalf("ONNX Runtime refuses %s: %v", filepath.Base(path), err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func run(t *testing.T, s *onnx.Session, in []float32, shape ...int64) ([]float32, []int64) {
	t.Helper()
	out, oshape, err := s.Run(in, shape...)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(s.Path()), err)
	}
	return out, oshape
}

// Tolerances of the int8 models against fp32 on the same real input.
const (
	// detAgree: share of probability-map pixels on the same side of the
	// 0.3 text threshold (dbnet's); detMeanAbs: their mean absolute change.
	detAgree, detMeanAbs = 0.98, 0.02
	// clsProb: largest change of a class probability.
	clsProb = 0.05
	// recCER: edit distance of int8's best paths from fp32's over all lines,
	// per fp32 character.
	recCER = 0.02
	// sizeRatio: largest int8/fp32 file size (grouped convolutions, and
	// recognition's convolutions, stay fp32).
	sizeRatio = 0.8
)

// samplePage is the repository's sample page and its detection input
// tensor and shape.
func samplePage(t *testing.T) (*imgproc.Image, []float32, []int64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "sample", "phototest.tif"))
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := imageio.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if page.W%32 != 0 || page.H%32 != 0 {
		t.Fatalf("sample page %dx%d: want multiples of 32 (the detector's stride)", page.W, page.H)
	}
	o := function.DefaultOptions()
	in := make([]float32, 3*page.W*page.H)
	imgproc.NormalizeCHW(page, in, page.W, o.DetMean, o.DetStd)
	return page, in, []int64{1, 3, int64(page.H), int64(page.W)}
}

// mapAgreement is the share of detection-map pixels on the same side of
// 0.3 (dbnet's text threshold) and the mean absolute change.
func mapAgreement(want, got []float32) (share, mean float64) {
	agree, abs := 0, 0.0
	for i := range want {
		if (want[i] > 0.3) == (got[i] > 0.3) {
			agree++
		}
		abs += math.Abs(float64(want[i] - got[i]))
	}
	return float64(agree) / float64(len(want)), abs / float64(len(want))
}

// TestInt8MatchesFP32 quantizes the three PP-OCR models, loads them in ONNX
// Runtime and compares them with fp32 on the repository's sample page
// (testdata/sample/phototest.tif) and on the text lines fp32 detection finds
// on it: the detection map within detAgree/detMeanAbs, the classifier's
// probabilities within clsProb, and recognition's best paths (the text)
// within recCER.
func TestInt8MatchesFP32(t *testing.T) {
	files := testenv.Models(t)
	page, in, shape := samplePage(t)

	// Detection on the whole page.
	fpPath, qPath := quantized(t, files, function.KindDet)
	want, _ := run(t, open(t, fpPath), in, shape...)
	got, _ := run(t, open(t, qPath), in, shape...)
	share, mean := mapAgreement(want, got)
	t.Logf("det: %.4f of pixels agree at 0.3, mean |Δp| %.4f", share, mean)
	if share < detAgree || mean > detMeanAbs {
		t.Errorf("det: %.4f of pixels agree (want ≥ %.2f), mean |Δp| %.4f (want ≤ %.2f)", share, detAgree, mean, detMeanAbs)
	}
	boxes, _, err := dbnet.Boxes(want, page.W, page.H, page.W, page.H, dbnet.RapidOCRParams())
	if err != nil || len(boxes) < 5 {
		t.Fatalf("fp32 detection: %d boxes, %v; want the sample's lines", len(boxes), err)
	}

	// The lines, as upright 48-pixel-high crops of their bounding boxes.
	var lines []*imgproc.Image
	for _, b := range boxes {
		x0, y0, x1, y1 := page.W, page.H, 0, 0
		for _, p := range b {
			x0, y0 = min(x0, int(p[0])), min(y0, int(p[1]))
			x1, y1 = max(x1, int(math.Ceil(p[0]))), max(y1, int(math.Ceil(p[1])))
		}
		x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, page.W), min(y1, page.H)
		if x1-x0 < 8 || y1-y0 < 8 {
			continue
		}
		crop := imgproc.New(x1-x0, y1-y0)
		for y := y0; y < y1; y++ {
			copy(crop.Pix[crop.Offset(0, y-y0):crop.Offset(0, y-y0+1)], page.Pix[page.Offset(x0, y):page.Offset(x1, y)])
		}
		lines = append(lines, crop)
	}
	half := [3]float32{0.5, 0.5, 0.5}
	tensor := func(c *imgproc.Image, h, w int) []float32 {
		rw := min(w, max(1, int(math.Ceil(float64(h)*float64(c.W)/float64(c.H)))))
		buf := make([]float32, 3*h*w)
		imgproc.NormalizeCHW(imgproc.ResizeLinear(c, rw, h), buf, w, half, half)
		return buf
	}

	// Classification: probabilities per line.
	fpPath, qPath = quantized(t, files, function.KindCls)
	fpCls, qCls := open(t, fpPath), open(t, qPath)
	worst := 0.0
	for _, l := range lines {
		in := tensor(l, 48, 192)
		want, _ := run(t, fpCls, in, 1, 3, 48, 192)
		got, _ := run(t, qCls, in, 1, 3, 48, 192)
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(want[i]-got[i])))
		}
	}
	t.Logf("cls: %d lines, largest |Δp| %.4f", len(lines), worst)
	if worst > clsProb {
		t.Errorf("cls: a probability moved by %.4f, want ≤ %.2f", worst, clsProb)
	}

	// Recognition: the best path, CTC-collapsed, per line.
	// As scripts/int8.sh makes it: MatMul only (docs/quantize.md).
	fpPath, qPath = quantized(t, files, function.KindRec, quantize.WithConv(false))
	fpRec, qRec := open(t, fpPath), open(t, qPath)
	edits, chars := 0, 0
	for i, l := range lines {
		w := 48 * ((l.W*48/l.H + 47) / 48)
		in := tensor(l, 48, w)
		want, shape := run(t, fpRec, in, 1, 3, 48, int64(w))
		got, _ := run(t, qRec, in, 1, 3, 48, int64(w))
		a, b := bestPath(want, shape), bestPath(got, shape)
		if d := levenshtein(a, b); d > 0 {
			t.Logf("rec line %d: %d edits: int8 reads %v, fp32 %v", i, d, b, a)
			edits += d
		}
		chars += len(a)
	}
	t.Logf("rec: %d lines, %d edits in %d characters", len(lines), edits, chars)
	if chars == 0 || float64(edits) > recCER*float64(chars) {
		t.Errorf("rec: %d edits in %d characters, want ≤ %.0f%%", edits, chars, 100*recCER)
	}
}

// bestPath is CTC greedy decoding: the argmax per step, repeats and blanks
// (class 0) dropped.
func bestPath(probs []float32, shape []int64) []int {
	steps, classes := int(shape[1]), int(shape[2])
	var out []int
	prev := 0
	for s := range steps {
		row := probs[s*classes : (s+1)*classes]
		best := 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		if best != 0 && best != prev {
			out = append(out, best)
		}
		prev = best
	}
	return out
}

func levenshtein(a, b []int) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := range a {
		cur := make([]int, len(b)+1)
		cur[0] = i + 1
		for j := range b {
			cost := 1
			if a[i] == b[j] {
				cost = 0
			}
			cur[j+1] = min(prev[j]+cost, prev[j+1]+1, cur[j]+1)
		}
		prev = cur
	}
	return prev[len(b)]
}

// TestDeterministic: the same model in gives the same bytes out, as make
// deps' pinned sha256 needs, and the fp32 weights are gone from the output.
func TestDeterministic(t *testing.T) {
	files := testenv.Models(t)
	data, err := os.ReadFile(files.Path(function.KindCls))
	if err != nil {
		t.Fatal(err)
	}
	a, rep, err := quantize.Bytes(data)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := quantize.Bytes(bytes.Clone(data))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs over the same model differ")
	}
	if rep.OpsetFrom != 9 || rep.OpsetTo != 11 || rep.MatMul != 1 || rep.Conv == 0 {
		t.Errorf("report %+v: want opset 9→11, the classifier's one MatMul and its convolutions", rep)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(a, &m); err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Graph.Node {
		switch n.GetOpType() {
		case "MatMul":
			t.Errorf("MatMul %q left in fp32", n.GetName())
		case "Clip", "Slice":
			for _, a := range n.Attribute {
				t.Errorf("%s %q keeps opset-9 attribute %q", n.GetOpType(), n.GetName(), a.GetName())
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	if _, _, err := quantize.Bytes([]byte("not a model")); !errors.Is(err, quantize.ErrBadModel) {
		t.Errorf("garbage: %v, want ErrBadModel", err)
	}
	empty, _ := proto.Marshal(&onnxpb.ModelProto{})
	if _, _, err := quantize.Bytes(empty); !errors.Is(err, quantize.ErrBadModel) {
		t.Errorf("no graph: %v, want ErrBadModel", err)
	}
	pad, _ := proto.Marshal(&onnxpb.ModelProto{
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(9)}},
		Graph:       &onnxpb.GraphProto{Node: []*onnxpb.NodeProto{{OpType: proto.String("Pad"), Input: []string{"x"}, Output: []string{"y"}}}},
	})
	if _, _, err := quantize.Bytes(pad); !errors.Is(err, quantize.ErrUnsupported) {
		t.Errorf("opset-9 Pad: %v, want ErrUnsupported", err)
	}
}

// TestExclude: an excluded node stays fp32, and a name that matches no
// MatMul or Conv is an error rather than a silent no-op.
func TestExclude(t *testing.T) {
	data, err := os.ReadFile(testenv.Models(t).Path(function.KindCls))
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var matmul string
	for _, n := range m.Graph.Node {
		if n.GetOpType() == "MatMul" {
			matmul = n.GetName()
		}
	}
	q, rep, err := quantize.Bytes(data, quantize.WithExclude(matmul))
	if err != nil {
		t.Fatal(err)
	}
	if rep.MatMul != 0 || rep.Conv == 0 {
		t.Errorf("report %+v: want the MatMul kept and the convolutions quantized", rep)
	}
	var out onnxpb.ModelProto
	if err := proto.Unmarshal(q, &out); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range out.Graph.Node {
		found = found || n.GetName() == matmul && n.GetOpType() == "MatMul"
	}
	if !found {
		t.Errorf("MatMul %q is gone from the output", matmul)
	}
	if _, _, err := quantize.Bytes(data, quantize.WithExclude("no such node")); !errors.Is(err, quantize.ErrUnsupported) {
		t.Errorf("unknown node: %v, want ErrUnsupported", err)
	}
}
