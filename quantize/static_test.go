package quantize_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/quantize"
	"github.com/ocrhost/ocrhost/quantize/calibrate"
)

// TestStaticMatchesFP32 calibrates the detector on the sample page, rewrites
// it into QDQ form and runs it in ONNX Runtime: every convolution reads
// int8 weights, the input's range is exactly the page's, the same ranges
// give the same bytes, and the probability map stays within the dynamic
// int8 model's tolerances of fp32's.
func TestStaticMatchesFP32(t *testing.T) {
	files := testenv.Models(t)
	_, in, shape := samplePage(t)

	fp32, err := os.ReadFile(files.Path(function.KindDet))
	if err != nil {
		t.Fatal(err)
	}
	model := func() *onnxpb.ModelProto {
		var m onnxpb.ModelProto
		if err := proto.Unmarshal(fp32, &m); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	acts, err := quantize.Activations(model())
	if err != nil {
		t.Fatal(err)
	}
	ranges, err := calibrate.Ranges(fp32, acts, []calibrate.Input{{Data: in, Shape: shape}})
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := slices.Min(in), slices.Max(in); ranges["x"] != (quantize.Range{Min: lo, Max: hi}) {
		t.Errorf("the input's range %+v, want the page's [%g, %g]", ranges["x"], lo, hi)
	}

	encode := func() ([]byte, quantize.Report) {
		m := model()
		rep, err := quantize.Static(m, ranges)
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b, rep
	}
	q, rep := encode()
	if again, _ := encode(); !bytes.Equal(q, again) {
		t.Error("two rewrites with the same ranges differ")
	}
	var out onnxpb.ModelProto
	if err := proto.Unmarshal(q, &out); err != nil {
		t.Fatal(err)
	}
	qdq := 0
	for _, n := range out.Graph.Node {
		if n.GetOpType() == "QuantizeLinear" {
			qdq++
		}
	}
	if rep.Conv == 0 || qdq != len(acts) || rep.OpsetTo != 13 {
		t.Errorf("report %+v, %d QuantizeLinear: want every convolution, one per activation (%d), opset 13", rep, qdq, len(acts))
	}
	if float64(len(q)) > sizeRatio*float64(len(fp32)) {
		t.Errorf("static model %d bytes, fp32 %d", len(q), len(fp32))
	}

	path := filepath.Join(t.TempDir(), "det.static.onnx")
	if err := os.WriteFile(path, q, 0o644); err != nil {
		t.Fatal(err)
	}
	want, _ := run(t, open(t, files.Path(function.KindDet)), in, shape...)
	got, _ := run(t, open(t, path), in, shape...)
	share, mean := mapAgreement(want, got)
	t.Logf("static det: %d convolutions, %.4f of pixels agree at 0.3, mean |Δp| %.4f", rep.Conv, share, mean)
	if share < detAgree || mean > detMeanAbs {
		t.Errorf("static det: %.4f of pixels agree (want ≥ %.2f), mean |Δp| %.4f (want ≤ %.2f)", share, detAgree, mean, detMeanAbs)
	}

	delete(ranges, acts[len(acts)-1])
	if _, err := quantize.Static(model(), ranges); !errors.Is(err, quantize.ErrUnsupported) {
		t.Errorf("a missing range: %v, want ErrUnsupported", err)
	}
	if _, err := calibrate.Ranges(fp32, acts, nil); !errors.Is(err, calibrate.ErrNoInputs) {
		t.Errorf("no inputs: %v, want ErrNoInputs", err)
	}
}
