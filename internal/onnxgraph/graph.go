// Package onnxgraph is what the project's ONNX rewrites (package quantize,
// package fold) share: an index of a model's names and constants, and the
// edits they all make (fresh names, constants in and out, new nodes,
// dropping what nothing reads any more), on the ONNX protobuf schema.
package onnxgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/ocrhost/ocrhost/internal/onnxpb"
)

// ErrNoGraph and ErrSubgraph say why New refuses a model; ErrDecode, why
// Rewrite does.
var (
	ErrNoGraph  = errors.New("onnxgraph: model has no graph")
	ErrSubgraph = errors.New("onnxgraph: node has a subgraph")
	ErrDecode   = errors.New("onnxgraph: not an ONNX model")
)

// Rewrite decodes an ONNX model, lets f rewrite it in place and encodes the
// result deterministically: the same bytes and rewrite give the same bytes.
func Rewrite[R any](in []byte, f func(*onnxpb.ModelProto) (R, error)) ([]byte, R, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(in, &m); err != nil {
		var zero R
		return nil, zero, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	r, err := f(&m)
	if err != nil {
		return nil, r, err
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	if err != nil {
		return nil, r, fmt.Errorf("onnxgraph: encode: %w", err)
	}
	return out, r, nil
}

// Graph is one model's main graph and its index. The index follows the
// edits made through Graph; edits made to G directly are not seen.
type Graph struct {
	G      *onnxpb.GraphProto
	names  map[string]bool                // every tensor and node name in use
	consts map[string]*onnxpb.TensorProto // initializers and Constant outputs
}

// New indexes m's graph. A graph with subgraphs (If, Loop, Scan) is
// refused: its names and constants are not indexed.
func New(m *onnxpb.ModelProto) (*Graph, error) {
	g := m.GetGraph()
	if g == nil {
		return nil, ErrNoGraph
	}
	for _, n := range g.Node {
		for _, a := range n.Attribute {
			if a.G != nil || len(a.Graphs) > 0 {
				return nil, fmt.Errorf("%w: %q (%s)", ErrSubgraph, n.GetName(), n.GetOpType())
			}
		}
	}
	r := &Graph{G: g, names: map[string]bool{}, consts: map[string]*onnxpb.TensorProto{}}
	for _, t := range g.Initializer {
		r.names[t.GetName()] = true
		r.consts[t.GetName()] = t
	}
	for _, v := range g.Input {
		r.names[v.GetName()] = true
		delete(r.consts, v.GetName()) // an initializer a caller may override is not a constant
	}
	for _, n := range g.Node {
		r.names[n.GetName()] = true
		for _, o := range n.Output {
			r.names[o] = true
		}
		if n.GetOpType() == "Constant" && len(n.Output) == 1 {
			for _, a := range n.Attribute {
				if a.GetName() == "value" && a.T != nil {
					r.consts[n.Output[0]] = a.T
				}
			}
		}
	}
	return r, nil
}

// IsConst reports whether name is a constant: an initializer no graph
// input overrides, or a Constant node's output.
func (r *Graph) IsConst(name string) bool {
	_, ok := r.consts[name]
	return ok
}

// Fresh returns an unused name derived from base.
func (r *Graph) Fresh(base string) string {
	name := base
	for i := 2; r.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	r.names[name] = true
	return name
}

// Floats returns a constant float32 tensor's values and dims.
func (r *Graph) Floats(name string) ([]float32, []int64, bool) {
	t, ok := r.consts[name]
	if !ok || t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) || t.DataLocation != nil && t.GetDataLocation() != onnxpb.TensorProto_DEFAULT {
		return nil, nil, false
	}
	size := int64(1)
	for _, d := range t.Dims {
		size *= d
	}
	if len(t.RawData) > 0 {
		if int64(len(t.RawData)) != 4*size {
			return nil, nil, false
		}
		v := make([]float32, size)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
		}
		return v, t.Dims, true
	}
	if int64(len(t.FloatData)) != size {
		return nil, nil, false
	}
	return t.FloatData, t.Dims, true
}

// AddInit adds an initializer named after base and returns its name.
func (r *Graph) AddInit(base string, dt onnxpb.TensorProto_DataType, dims []int64, raw []byte) string {
	name := r.Fresh(base)
	t := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw}
	r.G.Initializer = append(r.G.Initializer, t)
	r.consts[name] = t
	return name
}

// AddFloats adds a float32 initializer named after base.
func (r *Graph) AddFloats(base string, dims []int64, v []float32) string {
	return r.AddInit(base, onnxpb.TensorProto_FLOAT, dims, FloatBytes(v))
}

// FloatBytes is v as an initializer's raw data.
func FloatBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// Node makes a node with a fresh name derived from base; the caller puts
// it in the graph.
func (r *Graph) Node(op, base string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(r.Fresh(base)), Input: in, Output: out, Attribute: attrs}
}

// IntAttr and FloatAttr make attributes.
func IntAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func FloatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// Attr is n's attribute called name, or nil.
func Attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// DropUnused removes the Constant nodes and initializers nothing reads any
// more.
func (r *Graph) DropUnused() {
	used := map[string]bool{}
	for _, n := range r.G.Node {
		for _, in := range n.Input {
			used[in] = true
		}
	}
	for _, o := range r.G.Output {
		used[o.GetName()] = true
	}
	nodes := r.G.Node[:0]
	for _, n := range r.G.Node {
		if n.GetOpType() == "Constant" && len(n.Output) == 1 && !used[n.Output[0]] {
			continue
		}
		nodes = append(nodes, n)
	}
	r.G.Node = nodes
	inputs := map[string]bool{}
	for _, v := range r.G.Input {
		inputs[v.GetName()] = true
	}
	inits := r.G.Initializer[:0]
	for _, t := range r.G.Initializer {
		if used[t.GetName()] || inputs[t.GetName()] {
			inits = append(inits, t)
		}
	}
	r.G.Initializer = inits
}

// Value is a graph input or output: its name and dimensions, -1 where the
// model leaves a dimension open.
type Value struct {
	Name string
	Dims []int64
}

// Signature reads a model's inputs, less those an initializer feeds (older
// exports list their weights as inputs too), and its outputs, from the
// bytes alone: no ONNX Runtime session is built to ask.
func Signature(model []byte) (ins, outs []Value, err error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, nil, ErrNoGraph
	}
	weights := map[string]bool{}
	for _, t := range g.Initializer {
		weights[t.GetName()] = true
	}
	value := func(v *onnxpb.ValueInfoProto) Value {
		out := Value{Name: v.GetName()}
		for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
			n := d.GetDimValue()
			if n <= 0 {
				n = -1
			}
			out.Dims = append(out.Dims, n)
		}
		return out
	}
	for _, v := range g.Input {
		if !weights[v.GetName()] {
			ins = append(ins, value(v))
		}
	}
	for _, v := range g.Output {
		outs = append(outs, value(v))
	}
	return ins, outs, nil
}
