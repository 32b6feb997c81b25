package quantize

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ocrhost/ocrhost/quantize/onnxpb"
)

// changedBy11 lists the default-domain operators whose inputs or meaning
// change between opsets 9 and 11 in a way upgradeOpset does not rewrite.
var changedBy11 = map[string]bool{
	"Pad": true, "Upsample": true, "Resize": true, "TopK": true, "Dropout": true,
	"Scatter": true, "Scan": true, "Loop": true, "If": true,
}

// upgradeOpset raises the default domain to opset 11, which
// DynamicQuantizeLinear needs. Of the operators PaddleOCR exports at opset 9,
// Clip (attributes min/max) and Slice (attributes starts/ends/axes) took
// their parameters as inputs from opsets 11 and 10 on; both are rewritten.
func (r *rewriter) upgradeOpset(m *onnxpb.ModelProto) (from, to int64, err error) {
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
	if from >= minOpset {
		return from, from, nil
	}
	if from < 7 {
		return from, from, fmt.Errorf("%w: opset %d (want 7 or later)", ErrUnsupported, from)
	}
	for _, n := range r.g.Node {
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			continue
		}
		switch op := n.GetOpType(); {
		case changedBy11[op]:
			return from, from, fmt.Errorf("%w: %s (node %q) changes meaning between opset %d and %d", ErrUnsupported, op, n.GetName(), from, minOpset)
		case op == "Clip":
			r.clipInputs(n)
		case op == "Slice":
			if err := r.sliceInputs(n); err != nil {
				return from, from, err
			}
		}
	}
	def.Version = &[]int64{minOpset}[0]
	return from, minOpset, nil
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
		r.addInit(base+"_min", onnxpb.TensorProto_FLOAT, nil, floatBytes([]float32{lo})),
		r.addInit(base+"_max", onnxpb.TensorProto_FLOAT, nil, floatBytes([]float32{hi})))
}

func (r *rewriter) sliceInputs(n *onnxpb.NodeProto) error {
	a := takeAttrs(n, "starts", "ends", "axes")
	if a["starts"] == nil || a["ends"] == nil {
		return fmt.Errorf("%w: Slice %q without starts or ends", ErrBadModel, n.GetName())
	}
	base := n.GetName()
	if base == "" {
		base = n.Output[0]
	}
	ints := func(suffix string, v []int64) string {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
		}
		return r.addInit(base+suffix, onnxpb.TensorProto_INT64, []int64{int64(len(v))}, b)
	}
	n.Input = append(n.Input[:1], ints("_starts", a["starts"].Ints), ints("_ends", a["ends"].Ints))
	if axes := a["axes"]; axes != nil {
		n.Input = append(n.Input, ints("_axes", axes.Ints))
	}
	return nil
}
