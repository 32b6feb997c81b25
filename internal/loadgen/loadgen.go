// Package loadgen drives a running ocrhost with concurrent requests over
// one of its transports, records the outcome and latency of every request
// and the host's memory over time, and turns them into a report: counts
// by outcome, throughput, latency percentiles, the RSS trend (a soak's
// leak check), text, Markdown, CSV and PNG plots.
//
// Every request issued ends in exactly one Record: answered with a result
// ("ok"), answered with a failure (its code), or unanswered ("timeout",
// "transport", "cancelled").
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ocrhost/ocrhost/host"
)

// Outcome labels besides the failure codes of answered failures.
const (
	// OutcomeOK: answered with a result.
	OutcomeOK = "ok"
	// OutcomeTimeout: no answer within the request timeout.
	OutcomeTimeout = "timeout"
	// OutcomeTransport: the request could not be sent, or its answer was
	// unreadable (no responders, connection lost, an HTTP error page, ...).
	OutcomeTransport = "transport"
	// OutcomeCancelled: the run was interrupted while the request waited.
	OutcomeCancelled = "cancelled"
)

var (
	// ErrInvalidOption: a run option out of range.
	ErrInvalidOption = errors.New("invalid load option")
	// ErrNoDocs: a run without documents to send.
	ErrNoDocs = errors.New("no documents to send")
)

// Doc is one input document; requests cycle through the run's documents.
type Doc struct {
	Name string
	Data []byte
	// ContentType is sent with the document; empty lets the host sniff.
	ContentType string
}

// Sender sends one document and waits until ctx ends for its answer. It
// returns nil for a result, a *host.Failure for a failure answer and any
// other error when no usable answer came.
type Sender interface {
	Send(ctx context.Context, doc Doc) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, doc Doc) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, doc Doc) error { return f(ctx, doc) }

// Record is the fate of one request.
type Record struct {
	Seq int
	Doc string
	// Start is when the request was sent, from the start of the run.
	Start   time.Duration
	Latency time.Duration
	// Outcome is OutcomeOK, a failure code, or another Outcome label.
	Outcome string
	// Err is the failure or error message; empty for OutcomeOK.
	Err string
}

// Result is a finished run.
type Result struct {
	Transport   string
	Concurrency int
	Docs        int
	Started     time.Time
	Elapsed     time.Duration
	// Sent counts the requests sent; each has its entry in Records.
	Sent int
	// Records holds one entry per request sent, in order of completion.
	Records []Record
	// Memory holds the host's memory samples, oldest first.
	Memory []MemorySample
	// MemoryErrors counts samples that could not be taken; the first
	// error's message is kept.
	MemoryErrors   int
	MemoryErrorMsg string
}

type config struct {
	transport   string
	requests    int
	concurrency int
	duration    time.Duration
	timeout     time.Duration
	memory      MemorySource
	memoryEvery time.Duration
	progress    func(done int, elapsed time.Duration)
	progressDur time.Duration
}

// Option configures Run.
type Option func(*config)

// WithRequests caps the requests sent; 0 leaves only the duration to stop
// the run.
func WithRequests(n int) Option { return func(c *config) { c.requests = n } }

// WithConcurrency sets how many requests are in flight at once.
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithDuration stops sending new requests after d; those in flight are
// still awaited. 0: no time limit.
func WithDuration(d time.Duration) Option { return func(c *config) { c.duration = d } }

// WithTimeout bounds how long one request waits for its answer.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMemory samples the host's memory from src every period, from the
// start of the run until its last answer, both ends included.
func WithMemory(src MemorySource, every time.Duration) Option {
	return func(c *config) { c.memory, c.memoryEvery = src, every }
}

// WithTransport names the transport in the result and the report.
func WithTransport(name string) Option { return func(c *config) { c.transport = name } }

// WithProgress calls fn every period with the requests completed so far,
// so that a long soak shows it is alive.
func WithProgress(every time.Duration, fn func(done int, elapsed time.Duration)) Option {
	return func(c *config) { c.progressDur, c.progress = every, fn }
}

func (c *config) validate() error {
	switch {
	case c.concurrency < 1:
		return fmt.Errorf("%w: concurrency %d < 1", ErrInvalidOption, c.concurrency)
	case c.requests < 0:
		return fmt.Errorf("%w: requests %d < 0", ErrInvalidOption, c.requests)
	case c.duration < 0:
		return fmt.Errorf("%w: negative duration %v", ErrInvalidOption, c.duration)
	case c.requests == 0 && c.duration == 0:
		return fmt.Errorf("%w: neither a request count nor a duration", ErrInvalidOption)
	case c.timeout <= 0:
		return fmt.Errorf("%w: request timeout %v <= 0", ErrInvalidOption, c.timeout)
	case c.memory != nil && c.memoryEvery <= 0:
		return fmt.Errorf("%w: memory sampling period %v <= 0", ErrInvalidOption, c.memoryEvery)
	case c.progress != nil && c.progressDur <= 0:
		return fmt.Errorf("%w: progress period %v <= 0", ErrInvalidOption, c.progressDur)
	}
	return nil
}

// Run sends requests through s at the configured concurrency, cycling
// through docs, until the request count or the duration is reached or ctx
// ends, and waits for every request sent. Defaults: 1 request at a time,
// 5 minutes' timeout; a count or a duration is required.
func Run(ctx context.Context, s Sender, docs []Doc, opts ...Option) (*Result, error) {
	cfg := config{concurrency: 1, timeout: 5 * time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, ErrNoDocs
	}
	res := &Result{Transport: cfg.transport, Concurrency: cfg.concurrency, Docs: len(docs), Started: time.Now()}
	start := time.Now()
	// issue ends when no more requests may start; requests in flight keep
	// ctx, so that the duration does not cut them short.
	issue, stopIssue := context.WithCancel(ctx)
	defer stopIssue()
	if cfg.duration > 0 {
		t := time.AfterFunc(cfg.duration, stopIssue)
		defer t.Stop()
	}

	var (
		next atomic.Int64
		sent atomic.Int64
		done atomic.Int64
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	for range cfg.concurrency {
		wg.Go(func() {
			for issue.Err() == nil {
				seq := int(next.Add(1) - 1)
				if cfg.requests > 0 && seq >= cfg.requests {
					return
				}
				sent.Add(1)
				rec := send(ctx, s, docs[seq%len(docs)], seq, start, cfg.timeout)
				mu.Lock()
				res.Records = append(res.Records, rec)
				mu.Unlock()
				done.Add(1)
			}
		})
	}

	finished := make(chan struct{})
	var side sync.WaitGroup
	if cfg.memory != nil {
		side.Go(func() { sampleMemory(ctx, cfg.memory, cfg.memoryEvery, start, finished, res) })
	}
	if cfg.progress != nil {
		side.Go(func() {
			tick := time.NewTicker(cfg.progressDur)
			defer tick.Stop()
			for {
				select {
				case <-finished:
					return
				case <-tick.C:
					cfg.progress(int(done.Load()), time.Since(start))
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Sent = int(sent.Load())
	close(finished)
	side.Wait()
	return res, nil
}

// send runs one request and classifies its outcome.
func send(ctx context.Context, s Sender, doc Doc, seq int, start time.Time, timeout time.Duration) Record {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t0 := time.Now()
	err := s.Send(rctx, doc)
	rec := Record{Seq: seq, Doc: doc.Name, Start: t0.Sub(start), Latency: time.Since(t0), Outcome: Classify(ctx, err)}
	if err != nil {
		rec.Err = err.Error()
	}
	return rec
}

// Classify names the outcome of a Send that returned err under a run
// whose context is ctx: an answer counts as such even when it came as
// the context ended.
func Classify(ctx context.Context, err error) string {
	if err == nil {
		return OutcomeOK
	}
	if f, ok := errors.AsType[*host.Failure](err); ok && f.Code != "" {
		return string(f.Code)
	}
	switch {
	case ctx.Err() != nil:
		return OutcomeCancelled
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	}
	return OutcomeTransport
}

// sampleMemory samples at once, then every period, and once more when
// finished closes, so that the series spans the whole run.
func sampleMemory(ctx context.Context, src MemorySource, every time.Duration, start time.Time, finished <-chan struct{}, res *Result) {
	take := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(every, 10*time.Second)+time.Second)
		defer cancel()
		at := time.Since(start)
		m, err := src.Memory(sctx)
		if err != nil {
			if res.MemoryErrors == 0 {
				res.MemoryErrorMsg = err.Error()
			}
			res.MemoryErrors++
			return
		}
		m.At = at
		res.Memory = append(res.Memory, m)
	}
	take()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			take()
			return
		case <-tick.C:
			take()
		}
	}
}
