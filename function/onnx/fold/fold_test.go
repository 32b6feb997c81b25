package fold_test

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/function/onnx/fold"
	"github.com/ocrhost/ocrhost/internal/onnxgraph"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// net builds a small opset-9 model with input x and output y, float
// tensors of unknown shape.
type net struct {
	g  *onnxpb.GraphProto
	rg *rand.Rand
}

func newNet() *net {
	f := &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}}}
	return &net{
		g: &onnxpb.GraphProto{Name: proto.String("t"),
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: f}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: f}}},
		rg: rand.New(rand.NewPCG(1, 2)),
	}
}

// c adds a constant of the given dims with values drawn from [lo, hi), or
// all v when lo == hi.
func (n *net) c(name string, dims []int64, lo, hi float32) string {
	size := int64(1)
	for _, d := range dims {
		size *= d
	}
	v := make([]float32, size)
	for i := range v {
		v[i] = lo + (hi-lo)*n.rg.Float32()
	}
	n.g.Initializer = append(n.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name),
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: dims, RawData: onnxgraph.FloatBytes(v)})
	return name
}

func (n *net) op(op string, in []string, out string, attrs ...*onnxpb.AttributeProto) string {
	n.g.Node = append(n.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(out), Input: in, Output: []string{out}, Attribute: attrs})
	return out
}

func ints(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// conv adds a convolution of in (ch channels) to out channels with a k×k
// kernel, padded to keep the size when pad.
func (n *net) conv(name, in string, ch, out, k int64, pad bool) string {
	p := int64(0)
	if pad {
		p = k / 2
	}
	return n.op("Conv", []string{in, n.c(name+".w", []int64{out, ch, k, k}, -1, 1), n.c(name+".b", []int64{out}, -1, 1)}, name,
		ints("kernel_shape", k, k), ints("pads", p, p, p, p), ints("strides", 1, 1))
}

func (n *net) model() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{IrVersion: proto.Int64(7), Graph: n.g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(9)}}}
}

func (n *net) hardSwish(x string) string {
	clip := n.op("Clip", []string{n.op("Add", []string{x, n.c(x+".3", []int64{1}, 3, 3)}, x+".add")}, x+".clip",
		&onnxpb.AttributeProto{Name: proto.String("min"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(0)},
		&onnxpb.AttributeProto{Name: proto.String("max"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(6)})
	return n.op("Div", []string{n.op("Mul", []string{x, clip}, x+".mul"), n.c(x+".6", []int64{1}, 6, 6)}, x+".hswish")
}

// TestRules builds each pattern Paddle exports, and near misses that must
// stay, folds them and runs both in ONNX Runtime on the same random input.
func TestRules(t *testing.T) {
	cases := []struct {
		name  string
		build func(n *net)
		want  fold.Report
	}{
		{"conv then per-channel affine", func(n *net) {
			y := n.conv("c1", "x", 3, 4, 3, true)
			y = n.op("Mul", []string{n.c("k", []int64{4, 1, 1}, 0.5, 2), y}, "mul")
			n.op("Add", []string{y, n.c("b", []int64{1, 4, 1, 1}, -1, 1)}, "y")
		}, fold.Report{ConvAffine: 1}},
		{"hard-swish", func(n *net) {
			y := n.hardSwish(n.conv("c1", "x", 3, 4, 3, true))
			n.op("Relu", []string{y}, "y")
		}, fold.Report{HardSwish: 1}},
		{"scalar affine into an unpadded conv", func(n *net) {
			y := n.op("Mul", []string{"x", n.c("k", []int64{1}, 0.5, 2)}, "mul")
			y = n.op("Add", []string{y, n.c("b", []int64{1}, -1, 1)}, "add")
			n.conv("y", y, 3, 4, 1, false)
		}, fold.Report{NextConv: 1}},
		{"scalar affine before a padded conv", func(n *net) {
			y := n.op("Relu", []string{n.conv("c1", "x", 3, 4, 1, false)}, "relu")
			y = n.op("Mul", []string{n.c("k", []int64{1}, 0.5, 2), y}, "mul")
			y = n.op("Add", []string{y, n.c("b", []int64{1}, -1, 1)}, "add")
			n.conv("y", y, 4, 4, 3, true)
		}, fold.Report{Affine: 1}},
		{"vector along the width", func(n *net) {
			n.op("Mul", []string{n.conv("c1", "x", 3, 4, 3, true), n.c("k", []int64{5}, 0.5, 2)}, "y")
		}, fold.Report{}},
		// The convolution's weights cannot take the scale its other reader
		// must not see; the scale becomes a BatchNormalization instead.
		{"conv output read twice", func(n *net) {
			c := n.conv("c1", "x", 3, 4, 3, true)
			m := n.op("Mul", []string{c, n.c("k", []int64{1}, 0.5, 2)}, "mul")
			n.op("Add", []string{m, c}, "y")
		}, fold.Report{Affine: 1}},
		{"clip to 5 is no hard-swish", func(n *net) {
			c := n.conv("c1", "x", 3, 4, 3, true)
			clip := n.op("Clip", []string{n.op("Add", []string{c, n.c("3", []int64{1}, 3, 3)}, "add")}, "clip",
				&onnxpb.AttributeProto{Name: proto.String("min"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(0)},
				&onnxpb.AttributeProto{Name: proto.String("max"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(5)})
			n.op("Div", []string{n.op("Mul", []string{c, clip}, "mul"), n.c("6", []int64{1}, 6, 6)}, "y")
		}, fold.Report{}},
	}
	testenv.Models(t) // ONNX Runtime
	in := make([]float32, 1*3*5*5)
	rg := rand.New(rand.NewPCG(3, 4))
	for i := range in {
		in[i] = 8*rg.Float32() - 4
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet()
			tc.build(n)
			m := n.model()
			before, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := fold.Model(m)
			if err != nil {
				t.Fatal(err)
			}
			if rep != tc.want {
				t.Errorf("report %+v, want %+v", rep, tc.want)
			}
			after, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			want := runBytes(t, before, in)
			got := runBytes(t, after, in)
			if d := maxRelDiff(want, got); d > 1e-5 {
				t.Errorf("folded output differs by %.3g (relative to the largest output)", d)
			}
		})
	}
}

// runBytes runs a model given as bytes on a 1×3×5×5 input, unfolded.
func runBytes(t *testing.T, model []byte, in []float32) []float32 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := onnx.Open(path, onnx.WithThreads(1, 1), onnx.WithFold(false))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, _, err := s.Run(in, 1, 3, 5, 5)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func maxRelDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var scale, d float64
	for i := range a {
		scale = max(scale, math.Abs(float64(a[i])))
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d / max(scale, 1e-12)
}

// TestPPOCRModels folds the models make deps fetched and made: each has
// the chains the package exists for, folding twice changes nothing more,
// and the same bytes fold to the same bytes.
func TestPPOCRModels(t *testing.T) {
	files := testenv.Models(t)
	for _, k := range []function.Kind{function.KindDet, function.KindCls, function.KindRec} {
		for _, path := range []string{files.Path(k), filepath.Join(filepath.Dir(files.Path(k)), function.Int8Name(filepath.Base(files.Path(k))))} {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			once, rep, err := fold.Bytes(data)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(path), err)
			}
			if rep.HardSwish == 0 || k != function.KindCls && (rep.ConvAffine == 0 || rep.Affine == 0) {
				t.Errorf("%s: %+v: the chains Paddle exports were not found", filepath.Base(path), rep)
			}
			again, rep2, err := fold.Bytes(once)
			if err != nil || rep2.Total() != 0 {
				t.Errorf("%s: folding again: %+v, %v", filepath.Base(path), rep2, err)
			}
			if !bytes.Equal(once, again) {
				t.Errorf("%s: folding a folded model changed it", filepath.Base(path))
			}
			if same, _, _ := fold.Bytes(data); !bytes.Equal(once, same) {
				t.Errorf("%s: the same model folded to different bytes", filepath.Base(path))
			}
		}
	}
}

func TestBadModel(t *testing.T) {
	if _, _, err := fold.Bytes([]byte("not a model")); !errors.Is(err, fold.ErrBadModel) {
		t.Errorf("garbage: %v, want ErrBadModel", err)
	}
	if _, err := fold.Model(&onnxpb.ModelProto{}); !errors.Is(err, fold.ErrBadModel) {
		t.Errorf("no graph: %v, want ErrBadModel", err)
	}
}
