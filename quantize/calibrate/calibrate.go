// Package calibrate measures the ranges a model's activations take over
// real inputs, which quantize.Static needs: it runs the fp32 model in ONNX
// Runtime with the activations added as outputs and keeps each one's
// smallest and largest value (min-max calibration).
//
// ONNX Runtime must be initialised first (function/onnx.Init).
package calibrate

import (
	"errors"
	"fmt"
	"math"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/ocrhost/ocrhost/internal/onnxpb"
	"github.com/ocrhost/ocrhost/quantize"
)

// ErrNoInputs means there was nothing to calibrate on.
var ErrNoInputs = errors.New("calibrate: no inputs")

// Input is one tensor fed to the model's single input.
type Input struct {
	Data  []float32
	Shape []int64
}

// Ranges runs the model (ONNX bytes) over inputs and returns the range of
// each named tensor over all of them. It runs on one thread, so the same
// inputs give the same ranges.
func Ranges(model []byte, tensors []string, inputs []Input) (map[string]quantize.Range, error) {
	if len(inputs) == 0 {
		return nil, ErrNoInputs
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", quantize.ErrBadModel, err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("%w: no graph", quantize.ErrBadModel)
	}
	inits := map[string]bool{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = true
	}
	var in string
	for _, v := range g.Input {
		if !inits[v.GetName()] {
			if in != "" {
				return nil, fmt.Errorf("%w: more than one input (%s, %s)", quantize.ErrUnsupported, in, v.GetName())
			}
			in = v.GetName()
		}
	}
	outputs := map[string]bool{}
	for _, o := range g.Output {
		outputs[o.GetName()] = true
	}
	for _, t := range tensors {
		if !outputs[t] {
			g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(t), Type: &onnxpb.TypeProto{
				Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}},
			}})
		}
	}
	data, err := proto.Marshal(&m)
	if err != nil {
		return nil, err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if err := errors.Join(so.SetIntraOpNumThreads(1), so.SetInterOpNumThreads(1)); err != nil {
		return nil, err
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{in}, tensors, so)
	if err != nil {
		return nil, fmt.Errorf("calibrate: ONNX Runtime refuses the model: %w", err)
	}
	defer s.Destroy()

	ranges := make(map[string]quantize.Range, len(tensors))
	for i, x := range inputs {
		if err := observe(s, x, tensors, ranges); err != nil {
			return nil, fmt.Errorf("calibrate: input %d %v: %w", i, x.Shape, err)
		}
	}
	return ranges, nil
}

// observe runs one input and widens ranges by what each tensor held.
func observe(s *ort.DynamicAdvancedSession, x Input, tensors []string, ranges map[string]quantize.Range) error {
	t, err := ort.NewTensor(ort.NewShape(x.Shape...), x.Data)
	if err != nil {
		return err
	}
	defer t.Destroy()
	outs := make([]ort.Value, len(tensors))
	defer func() {
		for _, o := range outs {
			if o != nil {
				o.Destroy()
			}
		}
	}()
	if err := s.Run([]ort.Value{t}, outs); err != nil {
		return err
	}
	for i, name := range tensors {
		o, ok := outs[i].(*ort.Tensor[float32])
		if !ok {
			return fmt.Errorf("%s is not a float32 tensor", name)
		}
		r, seen := ranges[name]
		if !seen {
			r = quantize.Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
		}
		for _, v := range o.GetData() {
			r.Min, r.Max = min(r.Min, v), max(r.Max, v)
		}
		ranges[name] = r
	}
	return nil
}
