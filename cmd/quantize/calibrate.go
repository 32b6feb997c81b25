package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
	"github.com/ocrhost/ocrhost/quantize"
	"github.com/ocrhost/ocrhost/quantize/calibrate"
)

// rangesFile is what calibration writes and a static rewrite reads: the
// activation ranges of one fp32 model, with what they were measured on.
type rangesFile struct {
	Model  string                    `json:"model"`
	SHA256 string                    `json:"sha256"`
	Images []string                  `json:"images"`
	Inputs int                       `json:"inputs"`
	Ranges map[string]quantize.Range `json:"ranges"`
}

// calibrateModels reads images through the fp32 pipeline (default options),
// collects each model's inputs, measures the ranges of the activations
// quantize.Static would quantize and writes them as
// <out>/<model>.ranges.json, for the kinds asked.
func calibrateModels(files function.ModelFiles, kinds []function.Kind, images []string, out string, opts []quantize.Option) error {
	inputs := map[function.Kind][]calibrate.Input{}
	ctx := function.WithTrace(context.Background(), &function.Trace{Input: func(k function.Kind, data []float32, shape []int64) {
		inputs[k] = append(inputs[k], calibrate.Input{Data: data, Shape: shape})
	}})
	var m function.Models
	for _, k := range function.Kinds {
		model, err := function.LoadModel(k, files)
		if err != nil {
			return err
		}
		defer model.Close()
		m.Set(model)
	}
	names := make([]string, len(images))
	for i, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		img, _, err := imageio.Decode(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if _, err := function.Run(ctx, m, img, function.DefaultOptions()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		names[i] = filepath.Base(path)
	}
	for _, k := range kinds {
		path := files.Path(k)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var mp onnxpb.ModelProto
		if err := proto.Unmarshal(data, &mp); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		acts, err := quantize.Activations(&mp, opts...)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		ranges, err := calibrate.Ranges(data, acts, inputs[k])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		sum := modelSum(data)
		f := rangesFile{Model: filepath.Base(path), SHA256: sum, Images: names, Inputs: len(inputs[k]), Ranges: ranges}
		b, err := json.MarshalIndent(f, "", " ")
		if err != nil {
			return err
		}
		dst := filepath.Join(out, filepath.Base(path)+".ranges.json")
		if err := os.WriteFile(dst, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "quantize: %s: %d activations over %d inputs from %d images → %s\n", filepath.Base(path), len(acts), len(inputs[k]), len(images), dst)
	}
	return nil
}

// readRanges reads a ranges file for the fp32 model data, refusing one
// measured on another model.
func readRanges(path string, data []byte) (map[string]quantize.Range, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f rangesFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sum := modelSum(data); f.SHA256 != sum {
		return nil, fmt.Errorf("%s was measured on another model (sha256 %s)", path, f.SHA256)
	}
	return f.Ranges, nil
}

// modelSum is the hex sha256 a ranges file names its model by.
func modelSum(model []byte) string {
	sum := sha256.Sum256(model)
	return hex.EncodeToString(sum[:])
}
