package quantize

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ocrhost/ocrhost/internal/onnxgraph"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
)

// changedBy11 lists the default-domain operators whose inputs or meaning
// change between opsets 9 and 11 in a way upgradeOpset does not rewrite.
var changedBy11 = map[string]bool{
	"Pad": true, "Upsample": true, "Resize": true, "TopK": true, "Dropout": true,
	"Scatter": true, "Scan": true, "Loop": true, "If": true,
}

// changedBy13 lists the default-domain operators whose inputs or meaning
// change between opsets 11 and 13 in a way upgradeOpset does not rewrite.
// (Softmax is rewritten only where its axis is the last, where both
// meanings agree.)
var changedBy13 = map[string]bool{
	"ReduceSum": true, "Split": true, "LogSoftmax": true, "Hardmax": true,
}

// upgradeOpset raises the default domain to opset target (11, which
// DynamicQuantizeLinear needs, or 13, whose DequantizeLinear takes a scale
// per channel). Of the operators PaddleOCR exports at opset 9, Clip
// (attributes min/max) and Slice (attributes starts/ends/axes) took their
// parameters as inputs from opsets 11 and 10 on, and Squeeze and Unsqueeze
// (attribute axes) from 13 on; all four are rewritten.
func (r *rewriter) upgradeOpset(m *onnxpb.ModelProto, target int64) (from, to int64, err error) {
	var def *onnxpb.OperatorSetIdProto
	for _, o := range m.OpsetImport {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			def = o
		}
	}
	if def == nil {
		return 0, 0, fmt.Errorf("%w: no default-domain opset", ErrBadModel)
	}
	from = def.GetVersion()
	if from >= target {
		return from, from, nil
	}
	if from < 7 {
		return from, from, fmt.Errorf("%w: opset %d (want 7 or later)", ErrUnsupported, from)
	}
	refuse := func(n *onnxpb.NodeProto) error {
		return fmt.Errorf("%w: %s (node %q) changes meaning between opset %d and %d", ErrUnsupported, n.GetOpType(), n.GetName(), from, target)
	}
	for _, n := range r.G.Node {
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			continue
		}
		op := n.GetOpType()
		if from < 11 {
			switch {
			case changedBy11[op]:
				return from, from, refuse(n)
			case op == "Clip":
				r.clipInputs(n)
			case op == "Slice":
				if err := r.sliceInputs(n); err != nil {
					return from, from, err
				}
			}
		}
		if target < 13 {
			continue
		}
		switch {
		case changedBy13[op]:
			return from, from, refuse(n)
		case op == "Softmax":
			if a := takeAttrs(n, "axis")["axis"]; a == nil && from < 13 || a != nil && a.GetI() != -1 {
				// Before 13, Softmax flattens from axis on; from 13 it works
				// along axis alone. They agree where axis is the last.
				if a != nil {
					n.Attribute = append(n.Attribute, a)
				}
				return from, from, refuse(n)
			}
		case op == "Squeeze" || op == "Unsqueeze":
			if axes := takeAttrs(n, "axes")["axes"]; axes != nil {
				n.Input = append(n.Input[:1], r.int64s(n, "_axes", axes.Ints))
			}
		}
	}
	def.Version = &[]int64{target}[0]
	return from, target, nil
}

// takeAttrs removes the named attributes from n and returns them by name.
func takeAttrs(n *onnxpb.NodeProto, names ...string) map[string]*onnxpb.AttributeProto {
	got := map[string]*onnxpb.AttributeProto{}
	kept := n.Attribute[:0]
	for _, a := range n.Attribute {
		taken := false
		for _, name := range names {
			if a.GetName() == name {
				got[name], taken = a, true
			}
		}
		if !taken {
			kept = append(kept, a)
		}
	}
	n.Attribute = kept
	return got
}

func (r *rewriter) clipInputs(n *onnxpb.NodeProto) {
	a := takeAttrs(n, "min", "max")
	lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
	if v, ok := a["min"]; ok {
		lo = v.GetF()
	}
	if v, ok := a["max"]; ok {
		hi = v.GetF()
	}
	base := n.GetName()
	if base == "" {
		base = n.Output[0]
	}
	n.Input = append(n.Input[:1],
		r.AddInit(base+"_min", onnxpb.TensorProto_FLOAT, nil, onnxgraph.FloatBytes([]float32{lo})),
		r.AddInit(base+"_max", onnxpb.TensorProto_FLOAT, nil, onnxgraph.FloatBytes([]float32{hi})))
}

func (r *rewriter) sliceInputs(n *onnxpb.NodeProto) error {
	a := takeAttrs(n, "starts", "ends", "axes")
	if a["starts"] == nil || a["ends"] == nil {
		return fmt.Errorf("%w: Slice %q without starts or ends", ErrBadModel, n.GetName())
	}
	ints := func(suffix string, v []int64) string { return r.int64s(n, suffix, v) }
	n.Input = append(n.Input[:1], ints("_starts", a["starts"].Ints), ints("_ends", a["ends"].Ints))
	if axes := a["axes"]; axes != nil {
		n.Input = append(n.Input, ints("_axes", axes.Ints))
	}
	return nil
}

// int64s adds a 1-D int64 initializer named after n.
func (r *rewriter) int64s(n *onnxpb.NodeProto, suffix string, v []int64) string {
	base := n.GetName()
	if base == "" {
		base = n.Output[0]
	}
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return r.AddInit(base+suffix, onnxpb.TensorProto_INT64, []int64{int64(len(v))}, b)
}
