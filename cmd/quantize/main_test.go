package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/quantize"
)

// TestRangesFile: ranges read back as written, and a file measured on
// another model is refused rather than applied to the wrong tensors.
func TestRangesFile(t *testing.T) {
	model := []byte("the fp32 model's bytes")
	want := map[string]quantize.Range{"x": {Min: -1, Max: 1}, "conv_1.tmp_0": {Min: -12.5, Max: 7.25}}
	f := rangesFile{Model: "m.onnx", SHA256: modelSum(model), Ranges: want}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.onnx.ranges.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readRanges(path, model)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || got["x"] != want["x"] || got["conv_1.tmp_0"] != want["conv_1.tmp_0"] {
		t.Errorf("read %v, want %v", got, want)
	}
	if _, err := readRanges(path, []byte("another model")); err == nil || !strings.Contains(err.Error(), "another model") {
		t.Errorf("ranges of another model: %v, want refused", err)
	}
}
