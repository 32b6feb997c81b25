package onnx

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestCacheDir: the first Open writes the optimised graph, a second loads
// it and computes the very same output as the model itself, and a broken
// cached file is replaced rather than failing the Open.
func TestCacheDir(t *testing.T) {
	_, models := assets(t)
	model := filepath.Join(models, "ch_PP-OCRv4_rec_infer.onnx")
	dir := t.TempDir()
	in := make([]float32, 2*3*48*320)
	for i := range in {
		in[i] = float32(i%251)/125 - 1
	}
	run := func(opts ...Option) ([]float32, time.Duration) {
		t.Helper()
		t0 := time.Now()
		s, err := Open(model, append(opts, WithThreads(1, 1))...)
		if err != nil {
			t.Fatal(err)
		}
		opened := time.Since(t0)
		defer s.Close()
		out, _, err := s.Run(in, 2, 3, 48, 320)
		if err != nil {
			t.Fatal(err)
		}
		return out, opened
	}
	cached := func() []string {
		t.Helper()
		names, err := filepath.Glob(filepath.Join(dir, "ch_PP-OCRv4_rec_infer.onnx-*.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		return names
	}

	want, plain := run()
	if _, first := run(WithCacheDir(dir)); len(cached()) != 1 {
		t.Fatalf("after the first Open (%v) the cache holds %v, want one graph", first, cached())
	}
	got, warm := run(WithCacheDir(dir))
	if !slices.Equal(got, want) {
		t.Error("the cached graph computes another output than the model")
	}
	t.Logf("Open: %v without the cache, %v from it", plain, warm)

	if err := os.WriteFile(cached()[0], []byte("not a graph"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := run(WithCacheDir(dir)); !slices.Equal(got, want) {
		t.Error("after a broken cache file: another output than the model")
	}
	if st, err := os.Stat(cached()[0]); err != nil || st.Size() < 1000 {
		t.Errorf("the broken cache file was not made again: %v %v", st, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// BenchmarkOpen times opening each model with ONNX Runtime's optimisations
// run (plain) and loaded from the optimised-graph cache (cached).
func BenchmarkOpen(b *testing.B) {
	_, models := assets(b)
	dir := b.TempDir()
	for _, name := range []string{"ch_PP-OCRv4_det_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx"} {
		for _, v := range []struct {
			name string
			opts []Option
		}{{"plain", nil}, {"cached", []Option{WithCacheDir(dir)}}} {
			b.Run(name+"/"+v.name, func(b *testing.B) {
				open := func() {
					s, err := Open(filepath.Join(models, name), append(v.opts, WithThreads(1, 1))...)
					if err != nil {
						b.Fatal(err)
					}
					s.Close()
				}
				open() // fills the cache
				for b.Loop() {
					open()
				}
			})
		}
	}
}
