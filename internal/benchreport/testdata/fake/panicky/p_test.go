package panicky

import "testing"

func BenchmarkFine(b *testing.B) { b.ReportMetric(1, "z") }

func BenchmarkPanics(b *testing.B) {
	var m map[string]int
	m["boom"] = 1
}
