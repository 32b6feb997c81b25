package quantize_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/quantize"
	"github.com/ocrhost/ocrhost/quantize/calibrate"
)

// BenchmarkInference times single-threaded inferences of each model in fp32
// against the int8 variants cmd/quantize can write, on inputs of the
// pipeline's shapes (docs/quantize.md): detection on a 960×640 page,
// classification on 6 lines of 48×192, recognition on 6 lines of 48×320.
func BenchmarkInference(b *testing.B) {
	files := testenv.Models(b)
	shapes := map[function.Kind][]int64{
		function.KindDet: {1, 3, 640, 960},
		function.KindCls: {6, 3, 48, 192},
		function.KindRec: {6, 3, 48, 320},
	}
	variants := []struct {
		name   string
		opts   []quantize.Option
		static bool
	}{
		{"int8", []quantize.Option{}, false},
		{"int8-matmul", []quantize.Option{quantize.WithConv(false)}, false},
		{"int8-conv", []quantize.Option{quantize.WithMatMul(false)}, false},
		{"int8-grouped", []quantize.Option{quantize.WithGroupedConv(true)}, false},
		{"static", nil, true},
		{"static-grouped", []quantize.Option{quantize.WithGroupedConv(true)}, true},
	}
	for _, k := range function.Kinds {
		src := files.Path(k)
		data, err := os.ReadFile(src)
		if err != nil {
			b.Fatal(err)
		}
		shape := shapes[k]
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		in := make([]float32, n)
		for i := range in {
			in[i] = float32(i%251)/125 - 1 // fixed, page-like values in [-1, 1]
		}
		fp := open(b, src)
		for _, v := range variants {
			q, rep, err := quantize.Bytes(data, v.opts...)
			if v.static {
				q, rep, err = staticBytes(data, in, shape, v.opts...)
			}
			if err != nil {
				b.Fatal(err)
			}
			if rep.MatMul+rep.Conv == 0 {
				continue // the variant changes nothing in this model
			}
			path := filepath.Join(b.TempDir(), v.name+".onnx")
			if err := os.WriteFile(path, q, 0o644); err != nil {
				b.Fatal(err)
			}
			int8 := open(b, path)
			b.Run(string(k)+"/"+v.name, func(b *testing.B) {
				// fp32 and int8 alternate so that both see the same load on a
				// shared machine; CPU time is steadier there than wall time.
				var cpu [2]time.Duration
				for i, s := range []*onnx.Session{fp, int8} { // warm-up
					if _, _, err := s.Run(in, shape...); err != nil {
						b.Fatal(i, err)
					}
				}
				for b.Loop() {
					for i, s := range []*onnx.Session{fp, int8} {
						t0 := cpuTime(b)
						if _, _, err := s.Run(in, shape...); err != nil {
							b.Fatal(err)
						}
						cpu[i] += cpuTime(b) - t0
					}
				}
				n := float64(b.N)
				b.ReportMetric(float64(cpu[0].Milliseconds())/n, "fp32-cpu-ms/op")
				b.ReportMetric(float64(cpu[1].Milliseconds())/n, "int8-cpu-ms/op")
				b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "int8/fp32")
			})
		}
	}
}

// staticBytes is the QDQ rewrite of model data, calibrated on the benchmark's
// own input (the scales do not change the speed); the recogniser and the
// classifier, whose opset-9 Softmax cannot be raised to 13, report nothing.
func staticBytes(data []byte, in []float32, shape []int64, opts ...quantize.Option) ([]byte, quantize.Report, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, quantize.Report{}, err
	}
	acts, err := quantize.Activations(&m, opts...)
	if err != nil {
		return nil, quantize.Report{}, err
	}
	ranges, err := calibrate.Ranges(data, acts, []calibrate.Input{{Data: in, Shape: shape}})
	if err != nil {
		return nil, quantize.Report{}, err
	}
	rep, err := quantize.Static(&m, ranges, opts...)
	if errors.Is(err, quantize.ErrUnsupported) {
		return nil, quantize.Report{}, nil
	}
	if err != nil {
		return nil, rep, err
	}
	q, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	return q, rep, err
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
