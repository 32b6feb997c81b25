package ok

import "testing"

func BenchmarkSeries(b *testing.B) {
	for _, n := range []int{2, 50} {
		b.Run(map[int]string{2: "pages=2", 50: "pages=50"}[n], func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(map[int]float64{2: 103, 50: 175}[n], "peak-MiB")
		})
	}
}
