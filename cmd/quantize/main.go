// Command quantize writes the int8 version of an fp32 ONNX model (package
// quantize): `quantize -in det.onnx -out det.int8.onnx [-conv=false] …`.
// make deps runs it over the PP-OCR models and checks the outputs' sha256.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ocrhost/ocrhost/quantize"
)

func main() {
	in := flag.String("in", "", "fp32 ONNX model to read")
	out := flag.String("out", "", "int8 ONNX model to write")
	matmul := flag.Bool("matmul", true, "quantize MatMul weights")
	conv := flag.Bool("conv", true, "quantize convolution weights")
	grouped := flag.Bool("grouped", false, "also quantize grouped (depthwise) convolutions")
	var exclude []string
	flag.Func("exclude", "a MatMul or Conv node to leave in fp32 (repeatable)", func(s string) error {
		exclude = append(exclude, s)
		return nil
	})
	flag.Parse()
	if *in == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *out, quantize.WithMatMul(*matmul), quantize.WithConv(*conv), quantize.WithGroupedConv(*grouped), quantize.WithExclude(exclude...)); err != nil {
		fmt.Fprintln(os.Stderr, "quantize:", err)
		os.Exit(1)
	}
}

func run(in, out string, opts ...quantize.Option) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	q, rep, err := quantize.Bytes(data, opts...)
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
