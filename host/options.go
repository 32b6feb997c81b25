package host

import (
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/document"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/memory"
)

type config struct {
	files          function.ModelFiles
	defaults       function.Options
	format         format.Format
	device         string
	maxPredictions int
	detRuns        int // 0: half of maxPredictions, at least 1
	idleTimeout    time.Duration
	queueTimeout   time.Duration
	maxPixels      int64
	sessionOpts    []onnx.Option
	memoryProbe    func() uint64
	probe          *memory.Probe
	monitor        monitorConfig
	guardOpts      []memory.GuardOption
	predictor      Predictor
	dpi            int
	batchSize      int
	maxPages       int
	rendererCache  string
	gcPercent      int
	// sequentialPages turns off rendering the next page of a document
	// while one is read: the benchmark's baseline.
	sequentialPages bool
	registerer      prometheus.Registerer
	log             *slog.Logger
}

// The defaults are the seed's settings (README, "Configuration").
func defaultConfig() config {
	return config{
		defaults:       function.DefaultOptions(),
		device:         "cpu",
		maxPredictions: 2,
		idleTimeout:    300 * time.Second,
		queueTimeout:   60 * time.Second,
		maxPixels:      50_000_000,
		log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		predictor:      DefaultPredictor(),
		dpi:            document.DefaultDPI,
		batchSize:      10,
		maxPages:       document.DefaultMaxPages,
		gcPercent:      25,
	}
}

// WithGCPercent sets the Go collector's target (GOGC) the host runs at,
// default 25: inference allocates short-lived tensors of tens of MiB, and
// at Go's default of 100 the heap grows to twice what is live before a
// collection (docs/memory.md has the figures). 0 leaves the collector as
// it is, for a deployment that sets GOGC itself.
func WithGCPercent(p int) Option { return func(c *config) { c.gcPercent = p } }

// WithDocuments sets how multi-page documents are processed: the PDF
// rendering resolution, pages per batch (the seed's max_batch_size,
// default 10), the page limit, and where the PDF engine's compiled code is
// cached (empty: compiled at each load).
func WithDocuments(dpi, batchSize, maxPages int, cacheDir string) Option {
	return func(c *config) {
		if dpi > 0 {
			c.dpi = dpi
		}
		if batchSize > 0 {
			c.batchSize = batchSize
		}
		if maxPages > 0 {
			c.maxPages = maxPages
		}
		c.rendererCache = cacheDir
	}
}

type monitorConfig struct {
	interval time.Duration
	cpu, gpu memory.Thresholds
}

// WithMemoryGuard measures memory with probe (sampled every interval, levels
// judged by the cpu and gpu thresholds) and admits each invocation only when
// its predicted need fits, evicting idle models first (docs/memory.md).
// Without it the host admits by the concurrency cap alone.
func WithMemoryGuard(probe *memory.Probe, interval time.Duration, cpu, gpu memory.Thresholds, opts ...memory.GuardOption) Option {
	return func(c *config) {
		c.probe = probe
		c.monitor = monitorConfig{interval, cpu, gpu}
		c.guardOpts = opts
		if c.memoryProbe == nil {
			c.memoryProbe = probe.RSS
		}
	}
}

// Option configures a Host.
type Option func(*config)

// WithModelFiles says where the models are (required).
func WithModelFiles(f function.ModelFiles) Option { return func(c *config) { c.files = f } }

// WithDefaults sets the options a request starts from before its own.
func WithDefaults(o function.Options) Option { return func(c *config) { c.defaults = o } }

// WithFormat sets the output format of requests that name none (default
// JSON).
func WithFormat(f format.Format) Option { return func(c *config) { c.format = f } }

// WithDevice selects where inference runs: "cpu" or "cuda:N".
func WithDevice(d string) Option { return func(c *config) { c.device = d } }

// WithMaxPredictions caps invocations running at once (default 2): the
// host's one concurrency limit. It is taken before the input is decoded, so
// it bounds decoded images too; the model pool's leases are sized to it and
// never bind.
func WithMaxPredictions(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxPredictions = n
		}
	}
}

// WithDetectionConcurrency caps the detections running at once across all
// invocations (default 0: half of max predictions, at least 1). Detection
// holds the largest activations, growing with the image, while recognition
// takes more of the time,
// so half the predictions detecting at once keeps up with the rest and two
// detections' activations stack less often (docs/memory.md).
func WithDetectionConcurrency(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.detRuns = n
		}
	}
}

// detectionConcurrency resolves the default.
func (c config) detectionConcurrency() int {
	if c.detRuns > 0 {
		return c.detRuns
	}
	return max(1, c.maxPredictions/2)
}

// WithIdleTimeout sets how long an unused model stays loaded (default 300 s).
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.idleTimeout = d
		}
	}
}

// WithQueueTimeout bounds the wait for a prediction slot and for a model
// lease (default 60 s); past it the invocation fails busy.
func WithQueueTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.queueTimeout = d
		}
	}
}

// WithMaxPixels rejects larger images from their header (default 50 Mpx).
func WithMaxPixels(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxPixels = n
		}
	}
}

// DefaultArenaKeep is how long `ocrhost serve` and `ocrhost ocr` keep a
// model's ONNX Runtime arena after its last inference unless
// OCRHOST_ARENA_KEEP says otherwise (onnx.WithKeepArena): the next
// inference finds its memory resident instead of faulting it in again. A
// Host from New keeps none unless WithSessionOptions asks; the seed
// benchmarks run with it, as the binary does.
const DefaultArenaKeep = 2 * time.Second

// WithSessionOptions tunes every ONNX Runtime session the host opens.
func WithSessionOptions(o ...onnx.Option) Option {
	return func(c *config) { c.sessionOpts = append(c.sessionOpts, o...) }
}

// WithMemoryProbe measures memory around each model load (e.g. process RSS).
func WithMemoryProbe(f func() uint64) Option { return func(c *config) { c.memoryProbe = f } }

// WithRegisterer registers the host's Prometheus metrics.
func WithRegisterer(r prometheus.Registerer) Option { return func(c *config) { c.registerer = r } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}
