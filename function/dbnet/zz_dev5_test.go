package dbnet

import "testing"

func BenchmarkDevBitmap(b *testing.B) {
	m := textMap(736, 992, 50, 1)
	var t tracer
	for b.Loop() {
		t.bitmap(m, 736, 992, 0.3, false)
	}
}
func BenchmarkDevBitmapDil(b *testing.B) {
	m := textMap(736, 992, 50, 1)
	var t tracer
	for b.Loop() {
		t.bitmap(m, 736, 992, 0.3, true)
	}
}
func BenchmarkDevScan(b *testing.B) {
	m := textMap(736, 992, 50, 1)
	var t tracer
	for b.Loop() {
		t.bitmap(m, 736, 992, 0.3, true)
		t.scan(736, 992)
	}
}

var devSink float32

func BenchmarkDevSum(b *testing.B) {
	m := textMap(736, 992, 50, 1)
	for b.Loop() {
		var s float32
		for _, v := range m {
			s += v
		}
		devSink = s
	}
}
