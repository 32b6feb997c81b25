package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/internal/loadgen"
)

// errLoadCheck: a load run with -check found unanswered or failed
// requests or a growing RSS.
var errLoadCheck = errors.New("load check failed")

const loadUsage = `usage: ocrhost load [flags] FILE...

Sends requests to a running host, cycling through FILEs, and reports
throughput, latency percentiles, outcomes by failure code and the host's
RSS over time (text on stdout; with -out, report.md, samples.csv,
requests.csv, rss.png and latency.png). Every request ends answered
("ok"), failed with its code, or unanswered ("timeout", "transport",
"cancelled"). With -check the exit status is 1 unless every request got a
result and the RSS trend over the second half stays within -max-rss-growth.

flags:
`

// load runs `ocrhost load`; its report goes to stdout.
func load(ctx context.Context, args []string) error {
	_, err := runLoad(ctx, args, os.Stdout)
	return err
}

// runLoad runs a load test and returns its summary (zero when none ran).
func runLoad(ctx context.Context, args []string, stdout io.Writer) (loadgen.Summary, error) {
	var none loadgen.Summary
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), loadUsage)
		fs.PrintDefaults()
	}
	env, err := loadClientConfig()
	if err != nil {
		return loadgen.Summary{}, err
	}
	natsDef := env.NATSURL
	var (
		n           = fs.Int("n", 100, "requests to send; 0: no limit (needs -duration)")
		c           = fs.Int("c", 4, "requests in flight at once")
		duration    = fs.Duration("duration", 0, "stop sending after this long (requests in flight are awaited); with it -n defaults to 0")
		transport   = fs.String("transport", "nats", "nats (request-reply), publish (answers on the result subject), jetstream (work-queue jobs) or http")
		options     = fs.String("options", "", "per-call options as JSON")
		natsURL     = fs.String("nats", natsDef, "NATS server URL (default: $OCRHOST_NATS_URL when set)")
		httpURL     = fs.String("http", "http://localhost:8080", "host HTTP base URL (CloudEvents on /, memory on /debug/memory)")
		timeout     = fs.Duration("timeout", 5*time.Minute, "how long each request waits for its answer")
		memEvery    = fs.Duration("memory-every", 5*time.Second, "sampling period of the host's memory report; 0: off")
		memFrom     = fs.String("memory-from", "", "where the memory report is read: nats (request-reply) or http (GET /debug/memory); default: http with -transport http, else nats")
		outDir      = fs.String("out", "", "write report.md, samples.csv, requests.csv and PNG plots to this folder")
		subject     = fs.String("subject", events.DefaultRequestSubject, "request subject (nats, publish)")
		resultSubj  = fs.String("result-subject", events.DefaultResultSubject, "result subject (publish, jetstream)")
		jobSubject  = fs.String("job-subject", "ocr.jobs.load", "job subject, one of the work queue's (jetstream)")
		taskSubject = fs.String("task-subject", jobs.DefaultTaskQuerySubject, "task query subject (jetstream)")
		memSubject  = fs.String("memory-subject", "ocrhost.memory", "memory report subject (OCRHOST_MEMORY_SUBJECT)")
		maxGrowth   = fs.Float64("max-rss-growth", 0.05, "RSS growth over the second half, as a fraction of its mean, tolerated as noise")
		check       = fs.Bool("check", false, "exit 1 unless every request got a result and RSS stays level")
		progress    = fs.Duration("progress", 0, "print progress to stderr this often; 0: off")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return none, nil
		}
		return none, err
	}
	if fs.NArg() == 0 {
		return none, errors.New("load: no files given")
	}
	explicitN := false
	fs.Visit(func(f *flag.Flag) { explicitN = explicitN || f.Name == "n" })
	if *duration > 0 && !explicitN {
		*n = 0
	}
	var opts json.RawMessage
	if *options != "" {
		if !json.Valid([]byte(*options)) {
			return none, fmt.Errorf("load: -options is not JSON: %q", *options)
		}
		opts = json.RawMessage(*options)
	}
	docs, err := readDocs(fs.Args())
	if err != nil {
		return none, err
	}
	switch *transport {
	case "nats", "publish", "jetstream", "http":
	default:
		return none, fmt.Errorf("load: -transport %q: want nats, publish, jetstream or http", *transport)
	}
	if *memFrom == "" {
		*memFrom = "nats"
		if *transport == "http" {
			*memFrom = "http"
		}
	}
	base, err := url.Parse(strings.TrimSuffix(*httpURL, "/"))
	if err != nil && (*transport == "http" || *memFrom == "http") {
		return none, fmt.Errorf("load: -http: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c + 1}}
	defer client.CloseIdleConnections()

	var nc *nats.Conn
	if *transport != "http" || *memFrom == "nats" {
		opts, err := natsOptionsFromEnv()
		if err != nil {
			return none, err
		}
		if nc, err = nats.Connect(*natsURL, append(opts, nats.Name("ocrhost-load"))...); err != nil {
			return none, fmt.Errorf("connect to NATS at %s: %w", redactURLs(*natsURL), err)
		}
		defer nc.Close()
	}
	var sender loadgen.Sender
	switch *transport {
	case "nats":
		js, err := jetstream.New(nc)
		if err != nil {
			return none, err
		}
		sender = loadgen.RequestReply{NC: nc, JS: js, Subject: *subject, Options: opts}
	case "publish":
		p, err := loadgen.NewPublish(nc, *subject, *resultSubj, opts)
		if err != nil {
			return none, err
		}
		defer p.Close()
		sender = p
	case "jetstream":
		js, err := jetstream.New(nc)
		if err != nil {
			return none, err
		}
		j, err := loadgen.NewJetStream(js, *jobSubject, *resultSubj, *taskSubject, opts)
		if err != nil {
			return none, err
		}
		defer j.Close()
		sender = j
	case "http":
		sender = loadgen.HTTP{Client: client, URL: base.String() + "/", Options: opts}
	}

	runOpts := []loadgen.Option{loadgen.WithTransport(*transport), loadgen.WithRequests(*n), loadgen.WithConcurrency(*c),
		loadgen.WithDuration(*duration), loadgen.WithTimeout(*timeout)}
	if *memEvery > 0 {
		var src loadgen.MemorySource
		switch *memFrom {
		case "nats":
			src = loadgen.NATSMemory{NC: nc, Subject: *memSubject}
		case "http":
			src = loadgen.HTTPMemory{Client: client, URL: base.String() + "/debug/memory"}
		default:
			return none, fmt.Errorf("load: -memory-from %q: want nats or http", *memFrom)
		}
		runOpts = append(runOpts, loadgen.WithMemory(src, *memEvery))
	}
	if *progress > 0 {
		runOpts = append(runOpts, loadgen.WithProgress(*progress, func(done int, elapsed time.Duration) {
			fmt.Fprintf(os.Stderr, "load: %d requests done in %s\n", done, elapsed.Round(time.Second))
		}))
	}
	res, err := loadgen.Run(ctx, sender, docs, runOpts...)
	if err != nil {
		return none, fmt.Errorf("load: %w", err)
	}
	sum := loadgen.Summarize(res, *maxGrowth)
	if err := sum.WriteText(stdout); err != nil {
		return sum, err
	}
	if *outDir != "" {
		if err := loadgen.WriteDir(*outDir, res, sum); err != nil {
			return sum, fmt.Errorf("load: report: %w", err)
		}
		fmt.Fprintf(stdout, "report: %s\n", filepath.Join(*outDir, loadgen.ReportFile))
	}
	if *check {
		if err := sum.Check(); err != nil {
			return sum, fmt.Errorf("%w: %w", errLoadCheck, err)
		}
	}
	return sum, nil
}

func readDocs(paths []string) ([]loadgen.Doc, error) {
	docs := make([]loadgen.Doc, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		docs = append(docs, loadgen.Doc{Name: filepath.Base(p), Data: data})
	}
	return docs, nil
}
