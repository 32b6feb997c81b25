// Package testenv finds what tests need outside the package: the repo's
// fetched assets (make deps) and ../shared beside the repo (the team's test
// data, absent on a user's clone: those tests skip with the reason).
package testenv

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
)

// RepoRoot is the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatal("testenv: no go.mod above " + wd)
		}
	}
}

// Shared returns ../shared/<rel> or skips the test when it is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s absent (only the team's checkout has ../shared): %v", rel, err)
	}
	return p
}

var initOnce sync.Once
var initErr error

// Models initialises ONNX Runtime and returns the model files, skipping
// when `make deps` has not run (make test always runs it first).
func Models(t testing.TB) function.ModelFiles {
	t.Helper()
	// make exports where `make deps` put them; a plain go test finds them
	// in the checkout.
	lib, dir := os.Getenv("OCRHOST_ORT_LIB"), os.Getenv("OCRHOST_MODEL_DIR")
	if lib == "" || dir == "" {
		lib = filepath.Join(RepoRoot(t), "third_party", "lib", "libonnxruntime.so.1")
		dir = filepath.Join(RepoRoot(t), "third_party", "models")
	}
	for _, p := range []string{lib, dir} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("model assets missing (run `make deps`): %v", err)
		}
	}
	initOnce.Do(func() { initErr = onnx.Init(lib) })
	if initErr != nil {
		t.Fatal(initErr)
	}
	return function.DefaultModelFiles(dir)
}

// LoadAll loads the three models and closes them when the test ends.
func LoadAll(t testing.TB, opts ...onnx.Option) function.Models {
	t.Helper()
	files := Models(t)
	var m function.Models
	for _, k := range function.Kinds {
		model, err := function.LoadModel(k, files, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { model.Close() })
		m.Set(model)
	}
	return m
}

// Race reports a -race build, whose shadow memory makes RSS figures
// meaningless: memory tests skip there and make test runs them without it.
func Race() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// CopyModels copies the model folder into a temporary one that a test may
// break, and returns it with the good recognition model's bytes.
func CopyModels(t testing.TB) (function.ModelFiles, []byte) {
	t.Helper()
	src := Models(t)
	dst := function.DefaultModelFiles(t.TempDir())
	var rec []byte
	for _, name := range []string{src.Det, src.Cls, src.Rec, src.Keys} {
		data, err := os.ReadFile(filepath.Join(src.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst.Dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if name == src.Rec {
			rec = data
		}
	}
	return dst, rec
}
