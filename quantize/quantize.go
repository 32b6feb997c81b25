// Package quantize rewrites an fp32 ONNX model into one whose weighted
// operators run on 8-bit weights in ONNX Runtime's CPU kernels.
//
// Model and Bytes do dynamic quantization: the weights are quantized once, here, and
// each activation that feeds them is quantized per call by
// DynamicQuantizeLinear, so no calibration data is needed.
//
//   - MatMul with a constant 2-D weight becomes DynamicQuantizeLinear +
//     MatMulInteger (int8 weight, one scale per output column) + Cast + Mul,
//     the pattern ONNX Runtime fuses into DynamicQuantizeMatMul.
//   - Conv with a constant weight becomes DynamicQuantizeLinear +
//     ConvInteger + Cast + Mul (+ Add for the bias). ConvInteger takes one
//     weight zero point per tensor only, so the weight is symmetric uint8
//     (zero point 128) with one scale per output channel, applied after the
//     integer convolution.
//
// Static is the other rewrite: ONNX's QDQ form with activation ranges
// measured beforehand (package calibrate), which ONNX Runtime fuses into
// QLinearConv. It is built and measured, and no model uses it
// (docs/quantize.md).
//
// The output is a pure function of the input model and the options (and
// the ranges): the same bytes in give the same bytes out.
package quantize

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/ocrhost/ocrhost/internal/onnxgraph"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
)

// ErrUnsupported means the model uses something the rewrite cannot carry
// over (an operator whose meaning changes with the opset upgrade, a
// subgraph); the model is left as it was.
var ErrUnsupported = errors.New("quantize: unsupported model")

// ErrBadModel means the input is not a well-formed ONNX model.
var ErrBadModel = errors.New("quantize: malformed model")

// minOpset is the default-domain opset DynamicQuantizeLinear needs.
const minOpset = 11

// Report says what a rewrite changed.
type Report struct {
	MatMul, Conv int   // operators rewritten
	Kept         int   // MatMul/Conv operators left in fp32 (dynamic weight, grouped conv when off)
	OpsetFrom    int64 // default-domain opset before
	OpsetTo      int64 // and after
}

type config struct {
	matmul, conv, grouped bool
	exclude               map[string]bool
}

// Option selects which operators are quantized.
type Option func(*config)

// WithMatMul quantizes MatMul weights (on by default).
func WithMatMul(on bool) Option { return func(c *config) { c.matmul = on } }

// WithConv quantizes convolution weights (on by default).
func WithConv(on bool) Option { return func(c *config) { c.conv = on } }

// WithGroupedConv also quantizes grouped (depthwise) convolutions (off by
// default): ONNX Runtime's ConvInteger runs one small GEMM per group, far
// slower than its fp32 depthwise kernel.
func WithGroupedConv(on bool) Option { return func(c *config) { c.grouped = on } }

// WithExclude leaves the named nodes in fp32, as for a model's output
// layer whose quantization moves close decisions.
func WithExclude(nodes ...string) Option {
	return func(c *config) {
		for _, n := range nodes {
			c.exclude[n] = true
		}
	}
}

// Bytes decodes an ONNX model, rewrites it and encodes it deterministically.
func Bytes(in []byte, opts ...Option) ([]byte, Report, error) {
	out, rep, err := onnxgraph.Rewrite(in, func(m *onnxpb.ModelProto) (Report, error) { return Model(m, opts...) })
	if errors.Is(err, onnxgraph.ErrDecode) {
		err = fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	return out, rep, err
}

// Model rewrites m in place.
func Model(m *onnxpb.ModelProto, opts ...Option) (Report, error) {
	r, c, err := newRewriter(m, opts)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	if rep.OpsetFrom, rep.OpsetTo, err = r.upgradeOpset(m, minOpset); err != nil {
		return rep, err
	}
	g := r.G
	var nodes []*onnxpb.NodeProto
	for _, n := range g.Node {
		var repl []*onnxpb.NodeProto
		switch op := n.GetOpType(); {
		case c.exclude[n.GetName()] && (op == "MatMul" || op == "Conv"):
			delete(c.exclude, n.GetName())
		case op == "MatMul":
			if c.matmul {
				repl, err = r.matMul(n)
			}
			if repl != nil {
				rep.MatMul++
			}
		case op == "Conv":
			if c.conv {
				repl, err = r.conv(n, c.grouped)
			}
			if repl != nil {
				rep.Conv++
			}
		default:
			nodes = append(nodes, n)
			continue
		}
		if err != nil {
			return rep, err
		}
		if repl == nil {
			rep.Kept++
			repl = []*onnxpb.NodeProto{n}
		}
		nodes = append(nodes, repl...)
	}
	if len(c.exclude) > 0 {
		return rep, fmt.Errorf("%w: no MatMul or Conv named %v to exclude", ErrUnsupported, slices.Sorted(maps.Keys(c.exclude)))
	}
	g.Node = nodes
	r.DropUnused()
	return rep, nil
}

// newRewriter checks m's graph and indexes its names and constants.
func newRewriter(m *onnxpb.ModelProto, opts []Option) (*rewriter, config, error) {
	c := config{matmul: true, conv: true, exclude: map[string]bool{}}
	for _, o := range opts {
		o(&c)
	}
	g, err := onnxgraph.New(m)
	switch {
	case errors.Is(err, onnxgraph.ErrNoGraph):
		return nil, c, fmt.Errorf("%w: no graph", ErrBadModel)
	case err != nil:
		return nil, c, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return &rewriter{g}, c, nil
}

type rewriter struct{ *onnxgraph.Graph }

// dequantize emits DynamicQuantizeLinear(x) and the nodes that turn the
// integer operator's int32 output yInt into the float output y:
// y = float(yInt) · (xScale · wScale) [+ bias].
func (r *rewriter) wrap(n *onnxpb.NodeProto, op string, w, wZero, wScale, bias string, attrs []*onnxpb.AttributeProto) []*onnxpb.NodeProto {
	base := n.GetName()
	if base == "" {
		base = n.Output[0]
	}
	xq, xs, xz := r.Fresh(base+"_xq"), r.Fresh(base+"_xscale"), r.Fresh(base+"_xzero")
	yInt, yF, scale := r.Fresh(base+"_int32"), r.Fresh(base+"_float"), r.Fresh(base+"_scale")
	out := n.Output[0]
	nodes := []*onnxpb.NodeProto{
		r.Node("DynamicQuantizeLinear", base+"_quant", []string{n.Input[0]}, []string{xq, xs, xz}),
		r.Node(op, base+"_int", []string{xq, w, xz, wZero}, []string{yInt}, attrs...),
		r.Node("Cast", base+"_cast", []string{yInt}, []string{yF}, onnxgraph.IntAttr("to", int64(onnxpb.TensorProto_FLOAT))),
		r.Node("Mul", base+"_scales", []string{xs, wScale}, []string{scale}),
	}
	if bias == "" {
		return append(nodes, r.Node("Mul", base+"_rescale", []string{yF, scale}, []string{out}))
	}
	y := r.Fresh(base + "_nobias")
	return append(nodes,
		r.Node("Mul", base+"_rescale", []string{yF, scale}, []string{y}),
		r.Node("Add", base+"_bias", []string{y, bias}, []string{out}))
}

// symmetricScale is the scale that maps [-max|v|, max|v|] onto [-127, 127];
// an all-zero slice gets 1 so that it stays zero.
func symmetricScale(v []float32) float32 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	if m == 0 {
		return 1
	}
	return float32(m / 127)
}

func quantizeTo(x, scale float32) int {
	q := int(math.RoundToEven(float64(x) / float64(scale)))
	return max(-127, min(127, q))
}

// perChannel quantizes w, outCh channels one after the other, symmetrically
// with one scale per channel, to bytes holding the int8 value plus offset
// (0 for int8, 128 for ConvInteger's symmetric uint8).
func perChannel(w []float32, outCh, offset int) ([]float32, []byte) {
	per := len(w) / outCh
	scales := make([]float32, outCh)
	q := make([]byte, len(w))
	for m := range outCh {
		ch := w[m*per : (m+1)*per]
		scales[m] = symmetricScale(ch)
		for i, x := range ch {
			q[m*per+i] = byte(quantizeTo(x, scales[m]) + offset)
		}
	}
	return scales, q
}

// matMul quantizes MatMul(A, W) for a constant 2-D W [K, N], one scale per
// column; nil when the node does not qualify.
func (r *rewriter) matMul(n *onnxpb.NodeProto) ([]*onnxpb.NodeProto, error) {
	if len(n.Input) != 2 || len(n.Output) != 1 {
		return nil, fmt.Errorf("%w: MatMul %q with %d inputs", ErrBadModel, n.GetName(), len(n.Input))
	}
	if r.IsConst(n.Input[0]) {
		return nil, nil
	}
	w, dims, ok := r.Floats(n.Input[1])
	if !ok || len(dims) != 2 {
		return nil, nil
	}
	k, cols := int(dims[0]), int(dims[1])
	scales := make([]float32, cols)
	col := make([]float32, k)
	q := make([]byte, k*cols)
	for j := range cols {
		for i := range k {
			col[i] = w[i*cols+j]
		}
		scales[j] = symmetricScale(col)
		for i := range k {
			q[i*cols+j] = byte(int8(quantizeTo(col[i], scales[j])))
		}
	}
	base := n.Input[1]
	wq := r.AddInit(base+"_int8", onnxpb.TensorProto_INT8, dims, q)
	wz := r.AddInit(base+"_zero", onnxpb.TensorProto_INT8, nil, []byte{0})
	ws := r.AddInit(base+"_scale", onnxpb.TensorProto_FLOAT, []int64{dims[1]}, onnxgraph.FloatBytes(scales))
	return r.wrap(n, "MatMulInteger", wq, wz, ws, "", nil), nil
}

// conv quantizes Conv(X, W[, B]) for a constant W [M, C/group, kH, kW], one
// scale per output channel; nil when the node does not qualify.
func (r *rewriter) conv(n *onnxpb.NodeProto, grouped bool) ([]*onnxpb.NodeProto, error) {
	if len(n.Input) < 2 || len(n.Output) != 1 {
		return nil, fmt.Errorf("%w: Conv %q with %d inputs", ErrBadModel, n.GetName(), len(n.Input))
	}
	var attrs []*onnxpb.AttributeProto
	for _, a := range n.Attribute {
		if a.GetName() == "group" && a.GetI() != 1 && !grouped {
			return nil, nil
		}
		attrs = append(attrs, a)
	}
	if r.IsConst(n.Input[0]) {
		return nil, nil
	}
	w, dims, ok := r.Floats(n.Input[1])
	if !ok || len(dims) < 3 {
		return nil, nil
	}
	outCh := int(dims[0])
	var bias []float32
	if len(n.Input) > 2 && n.Input[2] != "" {
		b, bdims, ok := r.Floats(n.Input[2])
		if !ok || len(bdims) != 1 || int(bdims[0]) != outCh {
			return nil, nil
		}
		bias = b
	}
	scales, q := perChannel(w, outCh, 128)
	// [M, 1, …, 1]: broadcasts against the output [N, M, H, W].
	chDims := make([]int64, len(dims)-1)
	chDims[0] = dims[0]
	for i := 1; i < len(chDims); i++ {
		chDims[i] = 1
	}
	base := n.Input[1]
	wq := r.AddInit(base+"_uint8", onnxpb.TensorProto_UINT8, dims, q)
	wz := r.AddInit(base+"_zero", onnxpb.TensorProto_UINT8, nil, []byte{128})
	ws := r.AddInit(base+"_scale", onnxpb.TensorProto_FLOAT, chDims, onnxgraph.FloatBytes(scales))
	b := ""
	if bias != nil {
		b = r.AddInit(n.Input[2]+"_channels", onnxpb.TensorProto_FLOAT, chDims, onnxgraph.FloatBytes(bias))
	}
	return r.wrap(n, "ConvInteger", wq, wz, ws, b, attrs), nil
}
