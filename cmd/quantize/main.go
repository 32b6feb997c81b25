// Command quantize writes the int8 version of an fp32 ONNX model (package
// quantize), and measures the activation ranges a static rewrite needs:
//
//	quantize -in det.onnx -out det.int8.onnx [-conv=false] …         dynamic
//	quantize -in det.onnx -out det.int8.onnx -ranges det.ranges.json  static (QDQ)
//	quantize -calibrate det,rec -models DIR -out DIR IMAGE...         measure ranges
//
// make deps runs it over the PP-OCR models and checks the outputs' sha256.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/internal/onnxgraph"
	"github.com/ocrhost/ocrhost/internal/onnxpb"
	"github.com/ocrhost/ocrhost/quantize"
)

func main() {
	in := flag.String("in", "", "fp32 ONNX model to read")
	out := flag.String("out", "", "int8 ONNX model to write (with -calibrate: the folder for the ranges)")
	matmul := flag.Bool("matmul", true, "quantize MatMul weights")
	conv := flag.Bool("conv", true, "quantize convolution weights")
	grouped := flag.Bool("grouped", false, "also quantize grouped (depthwise) convolutions")
	ranges := flag.String("ranges", "", "static quantization (QDQ) of the convolutions with these calibrated ranges")
	cal := flag.String("calibrate", "", "measure the ranges of these models (det,cls,rec) over the IMAGE arguments")
	models := flag.String("models", "", "with -calibrate: the folder of the fp32 models")
	lib := flag.String("ort", os.Getenv("OCRHOST_ORT_LIB"), "with -calibrate: libonnxruntime.so (default $OCRHOST_ORT_LIB)")
	var exclude []string
	flag.Func("exclude", "a MatMul or Conv node to leave in fp32 (repeatable)", func(s string) error {
		exclude = append(exclude, s)
		return nil
	})
	flag.Parse()
	opts := []quantize.Option{quantize.WithMatMul(*matmul), quantize.WithConv(*conv), quantize.WithGroupedConv(*grouped), quantize.WithExclude(exclude...)}
	var err error
	switch {
	case *cal != "" && *models != "" && *out != "" && flag.NArg() > 0:
		var kinds []function.Kind
		for _, k := range strings.Split(*cal, ",") {
			kinds = append(kinds, function.Kind(k))
		}
		if err = onnx.Init(*lib); err == nil {
			err = calibrateModels(function.DefaultModelFiles(*models), kinds, flag.Args(), *out, opts)
		}
	case *cal == "" && *in != "" && *out != "" && flag.NArg() == 0:
		err = run(*in, *out, *ranges, opts...)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quantize:", err)
		os.Exit(1)
	}
}

func run(in, out, ranges string, opts ...quantize.Option) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var q []byte
	var rep quantize.Report
	if ranges == "" {
		q, rep, err = quantize.Bytes(data, opts...)
	} else {
		q, rep, err = static(data, ranges, opts)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	// Written beside the target and renamed, so a failed run never leaves a
	// half-written model that make would take as done.
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, q, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "quantize: %s → %s: %d MatMul, %d Conv int8, %d kept fp32, opset %d→%d, %d → %d bytes\n",
		in, out, rep.MatMul, rep.Conv, rep.Kept, rep.OpsetFrom, rep.OpsetTo, len(data), len(q))
	return nil
}

func static(data []byte, path string, opts []quantize.Option) ([]byte, quantize.Report, error) {
	r, err := readRanges(path, data)
	if err != nil {
		return nil, quantize.Report{}, err
	}
	q, rep, err := onnxgraph.Rewrite(data, func(m *onnxpb.ModelProto) (quantize.Report, error) { return quantize.Static(m, r, opts...) })
	if errors.Is(err, onnxgraph.ErrDecode) {
		err = fmt.Errorf("%w: %v", quantize.ErrBadModel, err)
	}
	return q, rep, err
}
