package quantize

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/ocrhost/ocrhost/internal/onnxgraph"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
)

// Range is the interval an activation took over the calibration inputs.
type Range struct {
	Min float32 `json:"min"`
	Max float32 `json:"max"`
}

// qdqOpset is the default-domain opset whose DequantizeLinear takes one
// scale per channel (axis), which per-channel convolution weights need.
const qdqOpset = 13

// staticPlan is what a static rewrite will touch, found before any change.
type staticPlan struct {
	convs []*onnxpb.NodeProto // the convolutions to run in int8
	acts  []string            // their activations: inputs and outputs, graph order
}

func (r *rewriter) planStatic(c config) (staticPlan, error) {
	var p staticPlan
	outputs := map[string]bool{}
	for _, o := range r.G.Output {
		outputs[o.GetName()] = true
	}
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			p.acts = append(p.acts, t)
		}
	}
	for _, n := range r.G.Node {
		if n.GetOpType() != "Conv" {
			continue
		}
		if c.exclude[n.GetName()] {
			delete(c.exclude, n.GetName())
			continue
		}
		if len(n.Input) < 2 || len(n.Output) != 1 {
			return p, fmt.Errorf("%w: Conv %q with %d inputs", ErrBadModel, n.GetName(), len(n.Input))
		}
		if !c.grouped && groupOf(n) != 1 {
			continue
		}
		if r.IsConst(n.Input[0]) || outputs[n.Output[0]] {
			continue
		}
		if _, dims, ok := r.Floats(n.Input[1]); !ok || len(dims) < 3 {
			continue
		}
		if len(n.Input) > 2 && n.Input[2] != "" {
			if _, bdims, ok := r.Floats(n.Input[2]); !ok || len(bdims) != 1 {
				continue
			}
		}
		p.convs = append(p.convs, n)
		add(n.Input[0])
		add(n.Output[0])
	}
	if len(c.exclude) > 0 {
		return p, fmt.Errorf("%w: no Conv named %v to exclude", ErrUnsupported, slices.Sorted(maps.Keys(c.exclude)))
	}
	return p, nil
}

func groupOf(n *onnxpb.NodeProto) int64 {
	for _, a := range n.Attribute {
		if a.GetName() == "group" {
			return a.GetI()
		}
	}
	return 1
}

// Activations lists the tensors Static needs a Range for: the input and
// output of every convolution it would rewrite, in graph order.
func Activations(m *onnxpb.ModelProto, opts ...Option) ([]string, error) {
	m = proto.Clone(m).(*onnxpb.ModelProto)
	r, c, err := newRewriter(m, opts)
	if err != nil {
		return nil, err
	}
	p, err := r.planStatic(c)
	return p.acts, err
}

// Static rewrites m in place into ONNX's QDQ form, which ONNX Runtime fuses
// into integer kernels (QLinearConv): each rewritten convolution reads its
// input through QuantizeLinear + DequantizeLinear with the activation's
// calibrated range (uint8, asymmetric), its weight as int8 with one
// symmetric scale per output channel, its bias as int32, and its output goes
// through QuantizeLinear + DequantizeLinear too. ranges must hold every
// tensor Activations names.
func Static(m *onnxpb.ModelProto, ranges map[string]Range, opts ...Option) (Report, error) {
	r, c, err := newRewriter(m, opts)
	if err != nil {
		return Report{}, err
	}
	p, err := r.planStatic(c)
	if err != nil {
		return Report{}, err
	}
	for _, t := range p.acts {
		if _, ok := ranges[t]; !ok {
			return Report{}, fmt.Errorf("%w: no calibrated range for %q", ErrUnsupported, t)
		}
	}
	var rep Report
	if rep.OpsetFrom, rep.OpsetTo, err = r.upgradeOpset(m, qdqOpset); err != nil {
		return rep, err
	}
	inputs := make([]string, len(p.convs)) // before the pairs rewire them
	for i, n := range p.convs {
		inputs[i] = n.Input[0]
	}
	nodes, q, err := r.pairs(p, ranges)
	if err != nil {
		return rep, err
	}
	for i, n := range p.convs {
		x := inputs[i]
		n.Input[0] = q[x].dequantized
		// The weight's and bias's nodes go before the convolution.
		nodes = slices.Insert(nodes, slices.Index(nodes, n), r.convWeights(n, q[x].scale)...)
		rep.Conv++
	}
	r.G.Node = nodes
	r.DropUnused()
	return rep, nil
}

// quantized is an activation's QuantizeLinear → DequantizeLinear pair.
type quantized struct {
	scale       float32
	dequantized string // the pair's output
}

// pairs gives each activation of p one QuantizeLinear → DequantizeLinear
// pair, placed right after the node that makes it (or first, for a graph
// input), and makes every reader of a convolution's output read it through
// its pair, so that ONNX Runtime sees Conv → QuantizeLinear and fuses them.
// It returns the graph's nodes with the pairs in.
func (r *rewriter) pairs(p staticPlan, ranges map[string]Range) ([]*onnxpb.NodeProto, map[string]quantized, error) {
	q := map[string]quantized{}
	pair := func(t string) []*onnxpb.NodeProto {
		s, z := uint8Params(ranges[t])
		scale := r.AddInit(t+"_qscale", onnxpb.TensorProto_FLOAT, nil, onnxgraph.FloatBytes([]float32{s}))
		zero := r.AddInit(t+"_qzero", onnxpb.TensorProto_UINT8, nil, []byte{z})
		qn, d := r.Fresh(t+"_quantized"), r.Fresh(t+"_dequantized")
		q[t] = quantized{scale: s, dequantized: d}
		return []*onnxpb.NodeProto{
			r.Node("QuantizeLinear", t+"_Q", []string{t, scale, zero}, []string{qn}),
			r.Node("DequantizeLinear", t+"_DQ", []string{qn, scale, zero}, []string{d}),
		}
	}
	isAct := map[string]bool{}
	for _, t := range p.acts {
		isAct[t] = true
	}
	var nodes []*onnxpb.NodeProto
	for _, v := range r.G.Input {
		if isAct[v.GetName()] {
			nodes = append(nodes, pair(v.GetName())...)
		}
	}
	for _, n := range r.G.Node {
		nodes = append(nodes, n)
		for _, o := range n.Output {
			if isAct[o] {
				nodes = append(nodes, pair(o)...)
			}
		}
	}
	for _, t := range p.acts {
		if _, ok := q[t]; !ok {
			return nil, nil, fmt.Errorf("%w: activation %q has no producer", ErrBadModel, t)
		}
	}
	convOut := map[string]bool{}
	for _, n := range p.convs {
		convOut[n.Output[0]] = true
	}
	for _, n := range nodes {
		if n.GetOpType() == "QuantizeLinear" {
			continue
		}
		for i, in := range n.Input {
			if convOut[in] {
				n.Input[i] = q[in].dequantized
			}
		}
	}
	return nodes, q, nil
}

// convWeights quantizes convolution n's weight to int8, one symmetric scale
// per output channel, and its bias to int32 at the input's scale times the
// weight's, rewires n to read them through DequantizeLinear and returns
// those nodes.
func (r *rewriter) convWeights(n *onnxpb.NodeProto, xScale float32) []*onnxpb.NodeProto {
	w, dims, _ := r.Floats(n.Input[1])
	outCh := int(dims[0])
	ch := []int64{dims[0]}
	ws, q := perChannel(w, outCh, 0)
	deq := func(base string, dt onnxpb.TensorProto_DataType, dims []int64, raw []byte, scales []float32, zeroBytes int) (*onnxpb.NodeProto, string) {
		qn := r.AddInit(base+"_quantized", dt, dims, raw)
		sn := r.AddInit(base+"_scale", onnxpb.TensorProto_FLOAT, ch, onnxgraph.FloatBytes(scales))
		zn := r.AddInit(base+"_zero", dt, ch, make([]byte, zeroBytes*outCh))
		out := r.Fresh(base + "_dequantized")
		return r.Node("DequantizeLinear", base+"_DQ", []string{qn, sn, zn}, []string{out}, onnxgraph.IntAttr("axis", 0)), out
	}
	wNode, wOut := deq(n.Input[1], onnxpb.TensorProto_INT8, dims, q, ws, 1)
	n.Input[1] = wOut
	nodes := []*onnxpb.NodeProto{wNode}
	if len(n.Input) > 2 && n.Input[2] != "" {
		b, _, _ := r.Floats(n.Input[2])
		bs := make([]float32, outCh)
		bq := make([]byte, 4*outCh)
		for m := range outCh {
			bs[m] = xScale * ws[m]
			v := max(math.MinInt32, min(math.MaxInt32, math.RoundToEven(float64(b[m])/float64(bs[m]))))
			binary.LittleEndian.PutUint32(bq[4*m:], uint32(int32(v)))
		}
		bNode, bOut := deq(n.Input[2], onnxpb.TensorProto_INT32, ch, bq, bs, 4)
		n.Input[2] = bOut
		nodes = append(nodes, bNode)
	}
	return nodes
}

// uint8Params maps [min(0,lo), max(0,hi)] onto 0…255.
func uint8Params(rg Range) (float32, byte) {
	lo, hi := min(0, float64(rg.Min)), max(0, float64(rg.Max))
	if hi-lo < 1e-12 {
		return 1, 0
	}
	s := (hi - lo) / 255
	z := math.RoundToEven(-lo / s)
	return float32(s), byte(max(0, min(255, z)))
}
