package onnx

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/ocrhost/ocrhost/internal/onnxgraph"
)

// TestSignatureMatchesRuntime: the names and dimensions Open reads from a
// model's bytes are those ONNX Runtime reports for it, for every model
// file make deps writes (fp32 and int8).
func TestSignatureMatchesRuntime(t *testing.T) {
	_, models := assets(t)
	files, err := filepath.Glob(filepath.Join(models, "*.onnx"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no models in %s: %v", models, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ins, outs, err := onnxgraph.Signature(data)
			if err != nil {
				t.Fatal(err)
			}
			rtIns, rtOuts, err := ort.GetInputOutputInfo(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				got  []onnxgraph.Value
				want []ort.InputOutputInfo
			}{{"inputs", ins, rtIns}, {"outputs", outs, rtOuts}} {
				if len(c.got) != len(c.want) {
					t.Fatalf("%s: %d, ONNX Runtime has %d", c.what, len(c.got), len(c.want))
				}
				for i, v := range c.got {
					if w := c.want[i]; v.Name != w.Name || !slices.Equal(v.Dims, []int64(w.Dimensions)) {
						t.Errorf("%s %d: %s %v, ONNX Runtime %s %v", c.what, i, v.Name, v.Dims, w.Name, w.Dimensions)
					}
				}
			}
		})
	}
}
