package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/host"
)

// ocr runs the function in-process, through the same host (decoding,
// documents, warm models) that serve uses but without NATS, and prints each
// file's lines in reading order.
func ocr(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ocr", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the full result as JSON (lines with confidence and box, page size, timings)")
	options := fs.String("options", "", `per-call options as JSON, e.g. '{"stages":["det","rec"],"preset":"paddleocr"}'`)
	maxPixels := fs.Int64("max-pixels", 50_000_000, "reject images with more pixels than this (checked from the header)")
	formatName := fs.String("format", "", formatFlagUsage())
	outDir := fs.String("out", "", "with --format, write each file's output into this folder (name.ext) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("ocr: no files given")
	}
	reqOptions, err := requestOptions(*options, *formatName)
	if err != nil {
		return err
	}
	*asJSON = *asJSON || *formatName == "json"
	env, err := loadClientConfig()
	if err != nil {
		return err
	}
	lib, dir := locateAssets(env.ORTLib, env.ModelDir)
	if err := onnx.Init(lib); err != nil {
		return err
	}
	cfg, _ := loadConfig() // only the document, cache and arena settings; the CLI has no other configuration
	sessOpts := []onnx.Option{onnx.WithCacheDir(cfg.ortCacheDir()), onnx.WithKeepArena(cfg.ArenaKeep)}
	if env.IntraOpThreads > 0 {
		sessOpts = append(sessOpts, onnx.WithThreads(env.IntraOpThreads, 1))
	}
	files, err := modelFiles(dir, env.Int8)
	if err != nil {
		return err
	}
	h, err := host.New(append(hostGC(), host.WithModelFiles(files), host.WithMaxPixels(*maxPixels),
		host.WithSessionOptions(sessOpts...), host.WithMaxPredictions(1), host.WithQueueTimeout(time.Hour),
		host.WithDocuments(cfg.PDFDPI, cfg.MaxBatchSize, cfg.MaxPages, cfg.pdfCacheDir()))...)
	if err != nil {
		return err
	}
	defer h.Shutdown(context.Background())
	failed := 0
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		bar := newProgressBar(os.Stderr, path)
		resp, err := h.Invoke(ctx, &host.Request{ID: path, Data: data, Options: reqOptions, Progress: bar.update})
		bar.done()
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			continue
		}
		if resp.OutputType != "" {
			err = writeOutput(path, resp, *formatName, *outDir)
		} else {
			err = printResult(path, resp, *asJSON, fs.NArg() > 1)
		}
		if err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, fs.NArg())
	}
	return nil
}

// printResult prints a response as JSON or as its lines, a header per file
// when there are several.
func printResult(path string, resp *host.Response, asJSON, header bool) error {
	if asJSON {
		out := struct {
			File string `json:"file"`
			*host.Response
		}{path, resp}
		enc := json.NewEncoder(os.Stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	if header {
		fmt.Printf("== %s\n", path)
	}
	if resp.Markdown != "" {
		fmt.Print(resp.Markdown)
		return nil
	}
	for i, p := range resp.Pages {
		if len(resp.Pages) > 1 {
			fmt.Printf("-- page %d\n", p.Number)
		}
		for _, l := range resp.Pages[i].Lines {
			fmt.Println(l.Text)
		}
	}
	if len(resp.Pages) == 0 {
		for _, l := range resp.Lines {
			fmt.Println(l.Text)
		}
	}
	return nil
}
