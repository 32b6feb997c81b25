// Package fold rewrites an ONNX model into an equivalent one that ONNX
// Runtime's CPU kernels run in fewer passes over memory.
//
// Paddle's export of the PP-OCR models spells each learnable affine
// (x·k + b) and each hard-swish as chains of broadcast Mul, Add, Clip and
// Div. ONNX Runtime fuses none of them: each is a pass of its own over the
// activation, and each breaks its blocked (NCHWc) convolution layout, so
// the tensor is reordered out and back in around it. Model removes them:
//
//   - Conv → Mul(k) → Add(b), k and b per output channel: folded into the
//     convolution's weight and bias.
//   - x·Clip(x+3, 0, 6)/6: x·HardSigmoid(x) (alpha 1/6, beta 0.5), two
//     passes instead of four.
//   - Mul(k) → Add(b), k and b scalars, read only by a convolution that
//     pads nothing: folded into that convolution, conv(k·x + b) =
//     conv_{k·W}(x) + b·ΣW. A padding convolution pads k·x + b with zeros,
//     which the fold cannot express, so those are left to the next rule.
//   - The other Mul(k) → Add(b) on a convolution's channels: one
//     BatchNormalization (mean 0, variance 1, epsilon 0), which ONNX
//     Runtime keeps in its blocked layout.
//
// Each rewrite computes the same function; results differ only by float
// rounding. The output is a pure function of the input.
package fold

import (
	"errors"
	"fmt"

	"github.com/ocrhost/ocrhost/internal/onnxgraph"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
)

// ErrBadModel means the input is not a model the rewrite can read.
var ErrBadModel = errors.New("fold: unreadable model")

// Report counts what Model rewrote.
type Report struct {
	ConvAffine int // Mul/Add pairs folded into the convolution before them
	HardSwish  int // Add-Clip-Mul-Div chains made x·HardSigmoid(x)
	NextConv   int // Mul/Add pairs folded into the unpadded convolution after them
	Affine     int // Mul/Add pairs made one BatchNormalization
}

// Total is the number of rewrites.
func (r Report) Total() int { return r.ConvAffine + r.HardSwish + r.NextConv + r.Affine }

// Bytes decodes a model, rewrites it and encodes it deterministically.
func Bytes(in []byte) ([]byte, Report, error) {
	out, rep, err := onnxgraph.Rewrite(in, Model)
	if errors.Is(err, onnxgraph.ErrDecode) {
		err = fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	return out, rep, err
}

// Model rewrites m in place.
func Model(m *onnxpb.ModelProto) (Report, error) {
	g, err := onnxgraph.New(m)
	if err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	var rep Report
	// Each rule sees the graph the one before left.
	rep.ConvAffine = run(g, "Conv", (*pass).convAffine)
	rep.HardSwish = run(g, "Add", (*pass).hardSwish)
	rep.NextConv = run(g, "Mul", (*pass).nextConv)
	rep.Affine = run(g, "Mul", (*pass).affine)
	g.DropUnused()
	return rep, nil
}

// run applies rule to every live node of type op and counts the rewrites.
func run(g *onnxgraph.Graph, op string, rule func(*pass, *onnxpb.NodeProto) bool) int {
	p := newPass(g)
	n := 0
	for _, node := range g.G.Node {
		if node.GetOpType() == op && !p.gone[node] && rule(p, node) {
			n++
		}
	}
	p.finish()
	return n
}

// pass is one walk over the graph: who makes and reads each tensor, and
// the edits to apply at the end.
type pass struct {
	*onnxgraph.Graph
	readers  map[string][]*onnxpb.NodeProto
	producer map[string]*onnxpb.NodeProto
	outputs  map[string]bool
	gone     map[*onnxpb.NodeProto]bool
	// in the place of a removed node, the nodes that replace it: the last
	// node of the chain they replace, so that what read it still comes after
	put      map[*onnxpb.NodeProto][]*onnxpb.NodeProto
	channels map[string]int
}

func newPass(g *onnxgraph.Graph) *pass {
	p := &pass{Graph: g, readers: map[string][]*onnxpb.NodeProto{}, producer: map[string]*onnxpb.NodeProto{},
		outputs: map[string]bool{}, gone: map[*onnxpb.NodeProto]bool{}, put: map[*onnxpb.NodeProto][]*onnxpb.NodeProto{},
		channels: map[string]int{}}
	for _, n := range g.G.Node {
		for _, in := range n.Input {
			p.readers[in] = append(p.readers[in], n)
		}
		for _, o := range n.Output {
			p.producer[o] = n
		}
	}
	for _, o := range g.G.Output {
		p.outputs[o.GetName()] = true
	}
	return p
}

func (p *pass) finish() {
	var nodes []*onnxpb.NodeProto
	for _, n := range p.G.Node {
		nodes = append(nodes, p.put[n]...)
		if !p.gone[n] {
			nodes = append(nodes, n)
		}
	}
	p.G.Node = nodes
}

// only is the one node reading t, nil when t has other readers or is a
// graph output.
func (p *pass) only(t string) *onnxpb.NodeProto {
	if p.outputs[t] || len(p.readers[t]) != 1 {
		return nil
	}
	return p.readers[t][0]
}

// operand splits a two-input node into its input other than a constant and
// that constant's values and dims.
func (p *pass) operand(n *onnxpb.NodeProto) (x string, v []float32, dims []int64, ok bool) {
	if len(n.Input) != 2 {
		return "", nil, nil, false
	}
	for i, in := range n.Input {
		if v, dims, ok := p.Floats(in); ok && !p.IsConst(n.Input[1-i]) {
			return n.Input[1-i], v, dims, true
		}
	}
	return "", nil, nil, false
}

// byChannel expands a constant that broadcasts over an NCHW tensor of c
// channels along the channel axis only: one value (of rank at most 4), or
// c values shaped [c,1,1] or [1,c,1,1]. A [c] vector broadcasts along the
// last axis instead, and is refused.
func byChannel(v []float32, dims []int64, c int) ([]float32, bool) {
	if len(v) == 1 && len(dims) <= 4 {
		out := make([]float32, c)
		for i := range out {
			out[i] = v[0]
		}
		return out, true
	}
	if len(v) != c {
		return nil, false
	}
	if len(dims) == 3 && dims[1] == 1 && dims[2] == 1 || len(dims) == 4 && dims[0] == 1 && dims[2] == 1 && dims[3] == 1 {
		return v, true
	}
	return nil, false
}

// affineFrom reads the affine that starts at n, a reader of t: Mul(t, k)
// → Add(b), or either alone, with k and b per channel of c (ones and zeros
// where absent), and the nodes it spans. Nothing but the next node may
// read what comes between.
func (p *pass) affineFrom(n *onnxpb.NodeProto, t string, c int) (k, b []float32, chain []*onnxpb.NodeProto) {
	k, b = make([]float32, c), make([]float32, c)
	for i := range k {
		k[i] = 1
	}
	if n != nil && n.GetOpType() == "Mul" {
		x, v, d, ok := p.operand(n)
		if kk, ok2 := byChannel(v, d, c); ok && ok2 && x == t {
			k, chain, t = kk, append(chain, n), n.Output[0]
			n = p.only(t)
		}
	}
	if n != nil && n.GetOpType() == "Add" {
		x, v, d, ok := p.operand(n)
		if bb, ok2 := byChannel(v, d, c); ok && ok2 && x == t {
			b, chain = bb, append(chain, n)
		}
	}
	return k, b, chain
}

// convWeights is a convolution's weight and bias (zeros when it has none).
func (p *pass) convWeights(conv *onnxpb.NodeProto) (w []float32, dims []int64, bias []float32, ok bool) {
	if len(conv.Input) < 2 {
		return nil, nil, nil, false
	}
	w, dims, ok = p.Floats(conv.Input[1])
	if !ok || len(dims) != 4 {
		return nil, nil, nil, false
	}
	bias = make([]float32, dims[0])
	if len(conv.Input) > 2 {
		b, _, ok := p.Floats(conv.Input[2])
		if !ok || len(b) != len(bias) {
			return nil, nil, nil, false
		}
		copy(bias, b)
	}
	return w, dims, bias, true
}

// setWeights gives conv new constant weights named after it.
func (p *pass) setWeights(conv *onnxpb.NodeProto, x string, w []float32, dims []int64, bias []float32) {
	base := conv.GetName()
	if base == "" {
		base = conv.Output[0]
	}
	conv.Input = []string{x, p.AddFloats(base+"_w", dims, w), p.AddFloats(base+"_b", []int64{dims[0]}, bias)}
}

// convAffine folds the per-channel affine after conv into its weights:
// W'[o] = k[o]·W[o], B'[o] = k[o]·B[o] + b[o].
func (p *pass) convAffine(conv *onnxpb.NodeProto) bool {
	w, dims, bias, ok := p.convWeights(conv)
	if !ok {
		return false
	}
	oc := int(dims[0])
	k, b, chain := p.affineFrom(p.only(conv.Output[0]), conv.Output[0], oc)
	if len(chain) == 0 {
		return false
	}
	per := len(w) / oc
	for o := range oc {
		for i := o * per; i < (o+1)*per; i++ {
			w[i] *= k[o]
		}
		bias[o] = bias[o]*k[o] + b[o]
	}
	p.setWeights(conv, conv.Input[0], w, dims, bias)
	for _, n := range chain {
		p.gone[n] = true
	}
	conv.Output[0] = chain[len(chain)-1].Output[0]
	return true
}

func scalarIs(v []float32, want float32) bool { return len(v) == 1 && v[0] == want }

// hardSwish turns Add(x, 3) → Clip(0, 6) → Mul(x, ·) → Div(·, 6), as
// Paddle exports hard-swish, into HardSigmoid(x) → Mul(x, ·).
func (p *pass) hardSwish(add *onnxpb.NodeProto) bool {
	x, v, _, ok := p.operand(add)
	if !ok || !scalarIs(v, 3) {
		return false
	}
	clip := p.only(add.Output[0])
	if clip == nil || clip.GetOpType() != "Clip" || !p.clipsTo(clip, 0, 6) {
		return false
	}
	mul := p.only(clip.Output[0])
	if mul == nil || mul.GetOpType() != "Mul" || len(mul.Input) != 2 ||
		!(mul.Input[0] == x && mul.Input[1] == clip.Output[0] || mul.Input[1] == x && mul.Input[0] == clip.Output[0]) {
		return false
	}
	div := p.only(mul.Output[0])
	if div == nil || div.GetOpType() != "Div" || len(div.Input) != 2 || div.Input[0] != mul.Output[0] {
		return false
	}
	if v, _, ok := p.Floats(div.Input[1]); !ok || !scalarIs(v, 6) {
		return false
	}
	for _, n := range []*onnxpb.NodeProto{add, clip, mul, div} {
		p.gone[n] = true
	}
	out := div.Output[0]
	hs := p.Fresh(out + "_hardsigmoid")
	p.put[div] = []*onnxpb.NodeProto{
		p.Node("HardSigmoid", hs, []string{x}, []string{hs}, onnxgraph.FloatAttr("alpha", 1.0/6), onnxgraph.FloatAttr("beta", 0.5)),
		p.Node("Mul", out+"_hardswish", []string{x, hs}, []string{out}),
	}
	return true
}

// clipsTo reports whether Clip node n bounds to [lo, hi], given as
// attributes (opset < 11) or constant inputs.
func (p *pass) clipsTo(n *onnxpb.NodeProto, lo, hi float32) bool {
	if a, b := onnxgraph.Attr(n, "min"), onnxgraph.Attr(n, "max"); a != nil || b != nil {
		return a != nil && b != nil && len(n.Input) == 1 && a.GetF() == lo && b.GetF() == hi
	}
	if len(n.Input) != 3 {
		return false
	}
	l, _, ok1 := p.Floats(n.Input[1])
	h, _, ok2 := p.Floats(n.Input[2])
	return ok1 && ok2 && scalarIs(l, lo) && scalarIs(h, hi)
}

// nextConv folds a scalar affine into the convolution reading it when that
// convolution pads nothing: W' = k·W, B'[o] = B[o] + b·ΣW[o].
func (p *pass) nextConv(mul *onnxpb.NodeProto) bool {
	x, k, b, chain := p.scalarAffine(mul)
	if chain == nil {
		return false
	}
	last := chain[len(chain)-1].Output[0]
	conv := p.only(last)
	if conv == nil || conv.GetOpType() != "Conv" || conv.Input[0] != last || pads(conv) {
		return false
	}
	w, dims, bias, ok := p.convWeights(conv)
	if !ok {
		return false
	}
	oc := int(dims[0])
	per := len(w) / oc
	for o := range oc {
		var sum float64
		for i := o * per; i < (o+1)*per; i++ {
			sum += float64(w[i])
			w[i] *= k
		}
		bias[o] += float32(float64(b) * sum)
	}
	p.setWeights(conv, x, w, dims, bias)
	for _, n := range chain {
		p.gone[n] = true
	}
	return true
}

// scalarAffine reads Mul(x, k) [→ Add(b)] with scalar k and b.
func (p *pass) scalarAffine(mul *onnxpb.NodeProto) (x string, k, b float32, chain []*onnxpb.NodeProto) {
	x, v, d, ok := p.operand(mul)
	if !ok || len(v) != 1 || len(d) > 4 {
		return "", 0, 0, nil
	}
	kk, bb, chain := p.affineFrom(mul, x, 1)
	if len(chain) == 0 {
		return "", 0, 0, nil
	}
	return x, kk[0], bb[0], chain
}

// pads reports whether conv pads its input.
func pads(conv *onnxpb.NodeProto) bool {
	if a := onnxgraph.Attr(conv, "auto_pad"); a != nil && string(a.S) != "NOTSET" && string(a.S) != "VALID" {
		return true
	}
	if a := onnxgraph.Attr(conv, "pads"); a != nil {
		for _, v := range a.Ints {
			if v != 0 {
				return true
			}
		}
	}
	return false
}

// affine turns a per-channel Mul(k) [→ Add(b)] on a tensor a convolution
// made into BatchNormalization(scale k, bias b, mean 0, variance 1,
// epsilon 0): y = k·(x − 0)/√(1 + 0) + b.
func (p *pass) affine(mul *onnxpb.NodeProto) bool {
	x, _, _, ok := p.operand(mul)
	if !ok {
		return false
	}
	c := p.channelsOf(x)
	if c == 0 {
		return false
	}
	k, b, chain := p.affineFrom(mul, x, c)
	if len(chain) == 0 {
		return false
	}
	zeros, ones := make([]float32, c), make([]float32, c)
	for i := range ones {
		ones[i] = 1
	}
	last := chain[len(chain)-1]
	out, dims := last.Output[0], []int64{int64(c)}
	in := []string{x, p.AddFloats(out+"_scale", dims, k), p.AddFloats(out+"_bias", dims, b),
		p.AddFloats(out+"_mean", dims, zeros), p.AddFloats(out+"_var", dims, ones)}
	for _, n := range chain {
		p.gone[n] = true
	}
	p.put[last] = []*onnxpb.NodeProto{p.Node("BatchNormalization", out+"_affine", in, []string{out}, onnxgraph.FloatAttr("epsilon", 0))}
	return true
}

// channelsOf is the channel count of t when t is an NCHW tensor a 2-D
// convolution made, seen through the operators that keep its shape; 0 when
// that is not known.
func (p *pass) channelsOf(t string) int {
	if c, ok := p.channels[t]; ok {
		return c
	}
	p.channels[t] = 0 // a cycle, or unknown, until found
	c := 0
	if n := p.producer[t]; n != nil && !p.gone[n] {
		switch n.GetOpType() {
		case "Conv":
			if _, dims, ok := p.Floats(n.Input[1]); ok && len(dims) == 4 {
				c = int(dims[0])
			}
		case "BatchNormalization", "HardSigmoid", "Sigmoid", "Relu", "Clip", "GlobalAveragePool":
			c = p.channelsOf(n.Input[0])
		case "Mul", "Add":
			if len(n.Input) != 2 {
				break
			}
			if x, v, d, ok := p.operand(n); ok {
				if cx := p.channelsOf(x); cx > 0 {
					if _, ok := byChannel(v, d, cx); ok {
						c = cx
					}
				}
			} else if a, b := p.channelsOf(n.Input[0]), p.channelsOf(n.Input[1]); a == b {
				c = a // both 4-D with a channels: so is their broadcast
			}
		}
	}
	p.channels[t] = c
	return c
}
