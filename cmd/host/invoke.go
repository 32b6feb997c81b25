package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/function/document"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/host"
)

// invoke sends each file to a running host over NATS request-reply and
// prints its text (or the whole result with --json). A multi-page document
// (PDF, multi-page TIFF) is published instead when stderr is a terminal or
// --progress is given, so that the host's progress events can draw a
// progress bar while it runs (events.Client.RequestWithProgress).
func invoke(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	env, err := loadClientConfig()
	if err != nil {
		return err
	}
	url := fs.String("nats", env.NATSURL, "NATS server URL")
	subject := fs.String("subject", events.DefaultRequestSubject, "request subject")
	asJSON := fs.Bool("json", false, "print the full result event data as JSON")
	options := fs.String("options", "", "per-call options as JSON")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for each result")
	wait := fs.Duration("wait", 0, "keep retrying this long while no host answers (e.g. one still starting)")
	progress := fs.Bool("progress", false, "report pages done of multi-page documents even when stderr is not a terminal")
	resultSubject := fs.String("result-subject", env.ResultSubject, "subject the host publishes results and progress on (with progress)")
	formatName := fs.String("format", "", formatFlagUsage())
	outDir := fs.String("out", "", "with --format, write each file's output into this folder (name.ext) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("invoke: no files given")
	}
	reqOptions, err := requestOptions(*options, *formatName)
	if err != nil {
		return err
	}
	*asJSON = *asJSON || *formatName == "json"
	nc, err := connectWithin(*url, *wait)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	client := events.NewClient(nc, events.WithJetStream(js))
	failed := 0
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		hdr, _ := imageio.DecodeConfig(data)
		_, multiPage := document.IsDocument(data, hdr)
		var bar *progressBar
		switch {
		case multiPage && *progress:
			bar = newProgressLines(os.Stderr, path)
		case multiPage && isTerminal(os.Stderr):
			bar = newProgressBar(os.Stderr, path)
		}
		deadline := time.Now().Add(*wait)
		for {
			rctx, cancel := context.WithTimeout(ctx, *timeout)
			// Documents over the server's max payload go through the object store.
			var resp *host.Response
			doc := events.Document{Data: data, Options: reqOptions}
			if bar != nil {
				resp, err = client.RequestWithProgress(rctx, *subject, *resultSubject, doc, bar.update)
				bar.done()
			} else {
				resp, err = client.Request(rctx, *subject, doc)
			}
			cancel()
			if errors.Is(err, nats.ErrNoResponders) && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			if err != nil {
				failed++
				fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
				break
			}
			if resp.OutputType != "" {
				err = writeOutput(path, resp, *formatName, *outDir)
			} else {
				err = printResult(path, resp, *asJSON, fs.NArg() > 1)
			}
			if err != nil {
				return err
			}
			break
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, fs.NArg())
	}
	return nil
}

func connectWithin(url string, wait time.Duration) (*nats.Conn, error) {
	opts, err := natsOptionsFromEnv()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		nc, err := nats.Connect(url, append(opts, nats.Name("ocrhost-invoke"))...)
		if err == nil {
			return nc, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("connect to NATS at %s: %w", redactURLs(url), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
