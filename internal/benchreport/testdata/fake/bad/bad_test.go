package bad

import "testing"

func BenchmarkSubFails(b *testing.B) {
	b.Run("good", func(b *testing.B) { b.ReportMetric(3, "x") })
	b.Run("broken", func(b *testing.B) { b.Log("about to fail"); b.Fatal("cluster never formed") })
}

func BenchmarkErrorf(b *testing.B) { b.Errorf("eviction freed nothing") }

func BenchmarkAfter(b *testing.B) { b.ReportMetric(0, "ns/op"); b.ReportMetric(7, "y") }
