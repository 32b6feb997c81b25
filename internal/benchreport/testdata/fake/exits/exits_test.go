// Package exits fails after its last result, with nothing to blame.
package exits

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	m.Run()
	os.Exit(1)
}

func BenchmarkSeedMemory(b *testing.B) {
	b.Run("phototest", func(b *testing.B) { b.ReportMetric(57.7, "reduction-%"); b.ReportMetric(0, "ns/op") })
}
