package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/function/onnx"
)

// ocr runs the function in-process: load the models a call needs once,
// then OCR each file and print its lines in reading order.
func ocr(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ocr", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the full result as JSON (lines with confidence and box, page size, timings)")
	options := fs.String("options", "", `per-call options as JSON, e.g. '{"stages":["det","rec"],"preset":"paddleocr"}'`)
	maxPixels := fs.Int64("max-pixels", 50_000_000, "reject images with more pixels than this (checked from the header)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("ocr: no files given")
	}
	opts, err := function.ParseOptions(json.RawMessage(*options), function.DefaultOptions())
	if err != nil {
		return err
	}
	lib, dir := function.LocateAssets()
	if err := onnx.Init(lib); err != nil {
		return err
	}
	var models function.Models
	defer func() { models.Close() }()
	files := function.DefaultModelFiles(dir)
	var sessOpts []onnx.Option
	if n, err := strconv.Atoi(os.Getenv("OCRHOST_INTRA_OP_THREADS")); err == nil && n > 0 {
		sessOpts = append(sessOpts, onnx.WithThreads(n, 1))
	}
	for _, k := range opts.Models() {
		m, err := function.LoadModel(k, files, sessOpts...)
		if err != nil {
			return err
		}
		models.Set(m)
	}
	failed := 0
	for _, path := range fs.Args() {
		res, err := ocrFile(ctx, models, path, opts, *maxPixels)
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			continue
		}
		if *asJSON {
			out := struct {
				File string `json:"file"`
				*function.Result
			}{path, res}
			enc := json.NewEncoder(os.Stdout)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(out); err != nil {
				return err
			}
			continue
		}
		if len(fs.Args()) > 1 {
			fmt.Printf("== %s\n", path)
		}
		for _, l := range res.Lines {
			fmt.Println(l.Text)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, fs.NArg())
	}
	return nil
}

func ocrFile(ctx context.Context, models function.Models, path string, opts function.Options, maxPixels int64) (*function.Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	img, _, err := imageio.Decode(data, imageio.WithMaxPixels(maxPixels))
	if err != nil {
		return nil, err
	}
	decode := time.Since(t0)
	res, err := function.Run(ctx, models, img, opts)
	if err != nil {
		return nil, err
	}
	res.Timings.Decode = decode
	res.Timings.Total += decode
	return res, nil
}
