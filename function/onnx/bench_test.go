package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func assets(tb testing.TB) (lib, models string) {
	tb.Helper()
	lib, models = os.Getenv("OCRHOST_ORT_LIB"), os.Getenv("OCRHOST_MODEL_DIR")
	if lib == "" || models == "" {
		root, _ := filepath.Abs("../..")
		lib = filepath.Join(root, "third_party", "lib", "libonnxruntime.so.1")
		models = filepath.Join(root, "third_party", "models")
	}
	if _, err := os.Stat(lib); err != nil {
		tb.Skipf("ONNX Runtime missing (run `make deps`): %v", err)
	}
	if err := Init(lib); err != nil {
		tb.Fatal(err)
	}
	return lib, models
}

// rss reads the resident set size from /proc/self/statm.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// BenchmarkSessionOptions measures recognition of a batch of six 48x320
// lines and a batch padded to 960 under each memory option, with one thread
// and with all CPUs, reporting RSS growth over the session's life
// (rss-MB) and after it closes (rss-after-close-MB). docs/pipeline.md, "Session options".
func BenchmarkSessionOptions(b *testing.B) {
	_, models := assets(b)
	rec := filepath.Join(models, "ch_PP-OCRv4_rec_infer.onnx")
	variants := []struct {
		name string
		opts []Option
	}{
		{"arena-off", []Option{WithCPUArena(false)}},
		{"arena-on", []Option{WithCPUArena(true)}},
		{"arena-on+pattern", []Option{WithCPUArena(true), WithMemPattern(true)}},
		{"arena-on+shrink", []Option{WithCPUArena(true), WithArenaShrink(true)}},
	}
	for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, v := range variants {
			b.Run(fmt.Sprintf("%s/threads=%d", v.name, threads), func(b *testing.B) {
				runtime.GC()
				before := rss()
				s, err := Open(rec, append(v.opts, WithThreads(threads, 1))...)
				if err != nil {
					b.Fatal(err)
				}
				small := make([]float32, 6*3*48*320)
				wide := make([]float32, 6*3*48*960)
				peak := uint64(0)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, _, err := s.Run(small, 6, 3, 48, 320); err != nil {
						b.Fatal(err)
					}
					if _, _, err := s.Run(wide, 6, 3, 48, 960); err != nil {
						b.Fatal(err)
					}
					peak = max(peak, rss())
				}
				b.StopTimer()
				s.Close()
				runtime.GC()
				b.ReportMetric(float64(peak-before)/(1<<20), "rss-MB")
				b.ReportMetric(float64(int64(rss())-int64(before))/(1<<20), "rss-after-close-MB")
			})
		}
	}
}
