package fold_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// BenchmarkFold runs each model as the host loads it (folded) and as the
// file has it, alternating in one process with the default threads, on
// the inputs of a typical page: detection at 736×992, the classifier's
// batch, and a recognition batch of six lines 960 px wide (the int8 file
// the host runs). It reports each one's milliseconds a run and their
// ratio (docs/fold.md).
func BenchmarkFold(b *testing.B) {
	files := testenv.Models(b)
	rec := files.Path(function.KindRec)
	cases := []struct {
		name  string
		path  string
		shape []int64
	}{
		{"det", files.Path(function.KindDet), []int64{1, 3, 736, 992}},
		{"cls", files.Path(function.KindCls), []int64{6, 3, 48, 192}},
		{"rec-int8", filepath.Join(filepath.Dir(rec), function.Int8Name(filepath.Base(rec))), []int64{6, 3, 48, 960}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			plain, err := onnx.Open(c.path, onnx.WithFold(false))
			if err != nil {
				b.Fatal(err)
			}
			defer plain.Close()
			folded, err := onnx.Open(c.path)
			if err != nil {
				b.Fatal(err)
			}
			defer folded.Close()
			n := int64(1)
			for _, d := range c.shape {
				n *= d
			}
			in := make([]float32, n)
			for i := range in {
				in[i] = float32(i%17)/8 - 1
			}
			run := func(s *onnx.Session) time.Duration {
				t0 := time.Now()
				if _, _, err := s.Run(in, c.shape...); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			run(plain) // first runs size the arenas
			run(folded)
			var tp, tf time.Duration
			b.ResetTimer()
			for i := range b.N {
				if i%2 == 0 {
					tp += run(plain)
					tf += run(folded)
				} else {
					tf += run(folded)
					tp += run(plain)
				}
			}
			ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(b.N) }
			b.ReportMetric(ms(tp), "unfolded-ms")
			b.ReportMetric(ms(tf), "folded-ms")
			b.ReportMetric(float64(tf)/float64(tp), "folded/unfolded")
		})
	}
}
