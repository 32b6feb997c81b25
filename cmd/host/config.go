package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/memory"
)

// config is the host's whole configuration, read from OCRHOST_* variables
// (README, "Configuration", lists every one; keep the two in step).
type config struct {
	NATSURL          string `envconfig:"NATS_URL" desc:"NATS server URL; empty starts an embedded server with JetStream"`
	EmbeddedNATSHost string `envconfig:"EMBEDDED_NATS_HOST" default:"127.0.0.1" desc:"listen address of the embedded NATS server"`
	EmbeddedNATSPort int    `envconfig:"EMBEDDED_NATS_PORT" default:"4222" desc:"port of the embedded NATS server (-1: random)"`
	NATSStoreDir     string `envconfig:"NATS_STORE_DIR" desc:"JetStream storage of the embedded server; empty: a temporary folder removed at exit"`
	RequestSubject   string `envconfig:"REQUEST_SUBJECT" default:"ocr.requests" desc:"subject of request-reply and publish requests"`
	ResultSubject    string `envconfig:"RESULT_SUBJECT" default:"ocr.results" desc:"subject results go to when a request has no reply inbox"`
	QueueGroup       string `envconfig:"QUEUE_GROUP" default:"ocrhost" desc:"NATS queue group shared by all hosts"`

	// OCRHOST_NATS_USER and the other NATS security settings (auth.go).
	NATSAuth

	JetStream    bool          `envconfig:"JETSTREAM" default:"true" desc:"also take durable jobs from the JetStream work queue (subjects ocr.jobs.>)"`
	JSStream     string        `envconfig:"JS_STREAM" default:"OCR" desc:"work-queue stream, created when missing"`
	JSConsumer   string        `envconfig:"JS_CONSUMER" default:"ocr-workers" desc:"durable pull consumer shared by all hosts, created when missing"`
	JSAckWait    time.Duration `envconfig:"JS_ACK_WAIT" default:"60s" desc:"a job unacknowledged this long (no progress signal) is redelivered"`
	JSMaxDeliver int           `envconfig:"JS_MAX_DELIVER" default:"5" desc:"deliveries of a job before it goes to the dead-letter subject ocr.dead.>"`
	JSReplicas   int           `envconfig:"JS_REPLICAS" default:"1" desc:"servers of a JetStream cluster keeping a copy of the work queue, task states and payloads (1 to 5; 3 outlives the loss of one server)"`
	TaskTTL      time.Duration `envconfig:"TASK_TTL" default:"24h" desc:"how long task states and kept results live"`
	KeepResults  bool          `envconfig:"KEEP_RESULTS" default:"true" desc:"a completed task keeps its result for queries; false keeps the state only (the result event is then the only copy)"`

	JSEncryptionKeyFile string `envconfig:"JS_ENCRYPTION_KEY_FILE" desc:"file holding the key (at least 32 characters) the embedded server encrypts its JetStream store with: work queue, task states, results and payloads"`

	MaxBatchSize int    `envconfig:"MAX_BATCH_SIZE" default:"10" desc:"pages of a multi-page document between progress events (pages are rendered one at a time)"`
	MaxPages     int    `envconfig:"MAX_PAGES" default:"500" desc:"largest document in pages (after the requested page range)"`
	PDFDPI       int    `envconfig:"PDF_DPI" default:"200" desc:"resolution PDF pages are rendered at"`
	PDFCacheDir  string `envconfig:"PDF_CACHE_DIR" desc:"where the PDF engine's compiled WebAssembly is cached (default: the user cache folder, ocrhost/wazero)"`
	ORTCacheDir  string `envconfig:"ORT_CACHE_DIR" desc:"where ONNX Runtime's optimised graph of each model is kept, so that a model loads without optimising again (default: the user cache folder, ocrhost/ort; off: none)"`

	HTTPAddr     string   `envconfig:"HTTP_ADDR" default:":8080" desc:"HTTP listen address (CloudEvents on /, /tasks/{id}, /healthz, /readyz, and /metrics and /debug/ without OCRHOST_ADMIN_ADDR); PORT, when set, wins (Knative)"`
	MaxBodyBytes byteSize `envconfig:"MAX_BODY_BYTES" default:"64MiB" desc:"largest HTTP request body"`
	AdminAddr    string   `envconfig:"ADMIN_ADDR" desc:"listen address of /metrics and /debug/ (e.g. 127.0.0.1:9090), which the main port then no longer serves; empty: the main port serves them"`

	// HTTP authentication: with either set, every request but /healthz and
	// /readyz needs a credential.
	HTTPTokensFile string `envconfig:"HTTP_TOKENS_FILE" desc:"file of bearer tokens, one a line: <name> <token> [admin]; re-read when it changes"`
	HTTPTLSCert    string `envconfig:"HTTP_TLS_CERT" desc:"certificate (PEM) the HTTP listeners serve TLS with, with OCRHOST_HTTP_TLS_KEY"`
	HTTPTLSKey     string `envconfig:"HTTP_TLS_KEY" desc:"private key of OCRHOST_HTTP_TLS_CERT"`
	HTTPClientCA   string `envconfig:"HTTP_CLIENT_CA" desc:"CA certificates (PEM) that client certificates must chain to; a verified certificate's common name is the caller (needs OCRHOST_HTTP_TLS_CERT)"`

	HTTPReadHeaderTimeout time.Duration `envconfig:"HTTP_READ_HEADER_TIMEOUT" default:"10s" desc:"time a client has to send its request headers; a slower one is disconnected"`
	HTTPReadTimeout       time.Duration `envconfig:"HTTP_READ_TIMEOUT" default:"2m" desc:"time a client has to send a whole request, body included"`
	HTTPIdleTimeout       time.Duration `envconfig:"HTTP_IDLE_TIMEOUT" default:"2m" desc:"how long a kept-alive connection may wait for its next request"`
	HTTPMaxHeaderBytes    byteSize      `envconfig:"HTTP_MAX_HEADER_BYTES" default:"64KiB" desc:"largest request header block; larger ones are answered 431"`

	ModelDir string `envconfig:"MODEL_DIR" desc:"folder with the ONNX models and ppocr_keys_v1.txt (default: third_party/models found from the working directory or the binary)"`
	ORTLib   string `envconfig:"ORT_LIB" desc:"path of libonnxruntime.so.1 (default: third_party/lib beside the models)"`
	Int8     string `envconfig:"INT8" desc:"models that run in int8, written by make deps beside the fp32 ones: a list of det, cls, rec, or none (empty: rec, where int8 keeps accuracy; docs/quantize.md)"`
	Device   string `envconfig:"DEVICE" default:"cpu" desc:"cpu or cuda:N"`
	Preset   string `envconfig:"PRESET" default:"ocrhost" desc:"default pipeline configuration: ocrhost, rapidocr or paddleocr"`
	// Per deployment what a request may choose per call: stages, batch size, DPI...
	DefaultOptions string `envconfig:"DEFAULT_OPTIONS" desc:"per-call options (JSON) every request starts from, on top of the preset, e.g. {\"stages\":[\"det\",\"rec\"],\"dpi\":150}; a request's own options apply on top"`

	ModelIdleTimeout     time.Duration `envconfig:"MODEL_IDLE_TIMEOUT" default:"300s" desc:"an unused model is unloaded after this long"`
	MaxPredictions       int           `envconfig:"MAX_PREDICTIONS" default:"2" desc:"invocations running at once"`
	DetectionConcurrency int           `envconfig:"DETECTION_CONCURRENCY" default:"0" desc:"detections running at once across invocations, the stage with the largest activations; 0: half of OCRHOST_MAX_PREDICTIONS, at least 1"`
	PoolQueueTimeout     time.Duration `envconfig:"POOL_QUEUE_TIMEOUT" default:"60s" desc:"how long an invocation waits for a slot before failing busy"`
	MaxInFlight          int           `envconfig:"MAX_IN_FLIGHT" default:"16" desc:"invocations accepted per transport (running and queued); beyond it requests are answered busy at once"`
	MaxPixels            int64         `envconfig:"MAX_PIXELS" default:"50000000" desc:"largest image in pixels, checked from the header before decoding"`
	ShutdownGrace        time.Duration `envconfig:"SHUTDOWN_GRACE" default:"30s" desc:"on SIGTERM, time for in-flight work to finish"`
	DrainQuietPeriod     time.Duration `envconfig:"DRAIN_QUIET_PERIOD" default:"0s" desc:"on SIGTERM, /readyz fails this long before the listeners close, so that load balancers stop sending first (e.g. 5s behind a Kubernetes Service)"`
	ExitWhenIdle         time.Duration `envconfig:"EXIT_WHEN_IDLE" default:"0s" desc:"drain and exit 0 once nothing has been in flight and no model loaded for this long (0: never), for hosts started on demand"`
	IntraOpThreads       int           `envconfig:"INTRA_OP_THREADS" default:"0" desc:"ONNX Runtime threads per inference; 0: the CPUs available divided by OCRHOST_MAX_PREDICTIONS, at least 1"`
	ArenaKeep            time.Duration `envconfig:"ARENA_KEEP" default:"2s" desc:"keep each model's ONNX Runtime memory between inferences and give it back once the model has been idle this long (host.DefaultArenaKeep): each inference then skips faulting it in again (docs/fold.md); 0: given back after every inference"`

	MemoryBudget          byteSize      `envconfig:"MEMORY_BUDGET" desc:"memory the host may use, e.g. 1.5GiB; the effective limit is the tightest of this, the cgroup limit and RAM"`
	MemoryGuard           bool          `envconfig:"MEMORY_GUARD" default:"true" desc:"admit invocations only when their predicted memory fits under the critical threshold"`
	MemoryWarning         float64       `envconfig:"MEMORY_WARNING" default:"0.8" desc:"fraction of the limit at which pressure is logged (once per crossing) and raised as a metric"`
	MemoryCritical        float64       `envconfig:"MEMORY_CRITICAL" default:"0.95" desc:"fraction of the limit that admitted work must stay under"`
	GPUMemoryWarning      float64       `envconfig:"GPU_MEMORY_WARNING" default:"0.8" desc:"warning fraction of each GPU's memory"`
	GPUMemoryCritical     float64       `envconfig:"GPU_MEMORY_CRITICAL" default:"0.95" desc:"critical fraction of each GPU's memory; beyond it work falls back to the CPU"`
	MemoryMonitorInterval time.Duration `envconfig:"MEMORY_MONITOR_INTERVAL" default:"10s" desc:"how often memory is sampled in the background (admission also measures on demand)"`
	CPUFallback           bool          `envconfig:"CPU_FALLBACK" default:"true" desc:"run on the CPU when the GPU is short, and say so in the result"`
	GPUMemLimit           byteSize      `envconfig:"GPU_MEM_LIMIT" desc:"cap of ONNX Runtime's CUDA arena, e.g. 2GiB (empty: none)"`
	MemorySubject         string        `envconfig:"MEMORY_SUBJECT" default:"ocrhost.memory" desc:"NATS subject answering the memory report (request-reply)"`
	LogLevel              string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
}

func loadConfig() (config, error) {
	var c config
	if err := envconfig.Process("OCRHOST", &c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	if errs := c.NATSAuth.readSecretFiles(); len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	if port := os.Getenv("PORT"); port != "" {
		c.HTTPAddr = ":" + port
	}
	return c, c.validate()
}

// hostGC leaves the Go collector to a GOGC the environment sets; without
// one the host tunes it (host.WithGCPercent).
func hostGC() []host.Option {
	if _, set := os.LookupEnv("GOGC"); set {
		return []host.Option{host.WithGCPercent(0)}
	}
	return nil
}

// clientConfig is what the client commands (invoke, load, ocr) take from
// the environment: the same variables a served host reads, so that a shell
// set up for the host reaches it.
type clientConfig struct {
	NATSURL        string `envconfig:"NATS_URL"`
	ResultSubject  string `envconfig:"RESULT_SUBJECT" default:"ocr.results"`
	IntraOpThreads int    `envconfig:"INTRA_OP_THREADS"`
	ModelDir       string `envconfig:"MODEL_DIR"`
	ORTLib         string `envconfig:"ORT_LIB"`
	Int8           string `envconfig:"INT8"`
}

// loadClientConfig reads clientConfig; a NATS URL left unset is the
// default local one.
func loadClientConfig() (clientConfig, error) {
	var c clientConfig
	if err := envconfig.Process("OCRHOST", &c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	if c.NATSURL == "" {
		c.NATSURL = nats.DefaultURL
	}
	return c, nil
}

// intraOpThreads resolves 0 to the CPUs available (GOMAXPROCS honours a
// cgroup CPU quota) shared among the predictions that run at once.
func (c config) intraOpThreads() int {
	if c.IntraOpThreads > 0 {
		return c.IntraOpThreads
	}
	return max(1, runtime.GOMAXPROCS(0)/max(1, c.MaxPredictions))
}

// defaults are the options every request starts from: the preset, then
// OCRHOST_DEFAULT_OPTIONS, checked by the same rules as a request's own.
func (c config) defaults() (function.Options, error) {
	_, rest, err := host.SplitFormat(json.RawMessage(c.DefaultOptions))
	if err != nil {
		return function.Options{}, err
	}
	return function.ParseOptions(rest, function.PresetOptions(function.Preset(c.Preset)))
}

// defaultFormat is the output format OCRHOST_DEFAULT_OPTIONS names ("" for
// JSON); defaults checks it.
func (c config) defaultFormat() format.Format {
	name, _, _ := host.SplitFormat(json.RawMessage(c.DefaultOptions))
	f, _ := format.Parse(name)
	return f
}

// ortCacheDir is where optimised graphs are kept ("" for none): a model
// loads from one without ONNX Runtime optimising it again (docs/figures.md,
// "Model load").
func (c config) ortCacheDir() string {
	switch c.ORTCacheDir {
	case "off":
		return ""
	case "":
		if dir, err := os.UserCacheDir(); err == nil {
			return filepath.Join(dir, "ocrhost", "ort")
		}
		return ""
	}
	return c.ORTCacheDir
}

// modelFiles are the models in dir: int8 for the kinds int8 lists
// (OCRHOST_INT8), function.DefaultInt8 when it is empty, fp32 for the rest.
func modelFiles(dir, int8 string) (function.ModelFiles, error) {
	kinds := function.DefaultInt8
	if int8 != "" {
		var err error
		if kinds, err = function.ParseKinds(int8); err != nil {
			return function.ModelFiles{}, fmt.Errorf("OCRHOST_INT8: %w", err)
		}
	}
	return function.DefaultModelFiles(dir).Int8(kinds...), nil
}

// pdfCacheDir is where compiled pdfium is kept between runs: the first
// compile takes seconds.
func (c config) pdfCacheDir() string {
	if c.PDFCacheDir != "" {
		return c.PDFCacheDir
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "ocrhost", "wazero")
	}
	return ""
}

func (c config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.MaxPredictions < 1 {
		bad("OCRHOST_MAX_PREDICTIONS must be at least 1, is %d", c.MaxPredictions)
	}
	if c.DetectionConcurrency < 0 {
		bad("OCRHOST_DETECTION_CONCURRENCY must be 0 (automatic) or more, is %d", c.DetectionConcurrency)
	}
	if c.MaxInFlight < c.MaxPredictions {
		bad("OCRHOST_MAX_IN_FLIGHT (%d) must be at least OCRHOST_MAX_PREDICTIONS (%d)", c.MaxInFlight, c.MaxPredictions)
	}
	for name, d := range map[string]time.Duration{
		"OCRHOST_MODEL_IDLE_TIMEOUT": c.ModelIdleTimeout,
		"OCRHOST_POOL_QUEUE_TIMEOUT": c.PoolQueueTimeout,
		"OCRHOST_SHUTDOWN_GRACE":     c.ShutdownGrace,
	} {
		if d <= 0 {
			bad("%s must be a positive duration such as 30s, is %v", name, d)
		}
	}
	if c.MaxBatchSize < 1 || c.MaxBatchSize > 100 {
		bad("OCRHOST_MAX_BATCH_SIZE must be within [1, 100], is %d", c.MaxBatchSize)
	}
	if c.MaxPages < 1 {
		bad("OCRHOST_MAX_PAGES must be at least 1, is %d", c.MaxPages)
	}
	if c.PDFDPI < 50 || c.PDFDPI > 600 {
		bad("OCRHOST_PDF_DPI must be within [50, 600], is %d", c.PDFDPI)
	}
	if c.JSMaxDeliver < 1 {
		bad("OCRHOST_JS_MAX_DELIVER must be at least 1, is %d", c.JSMaxDeliver)
	}
	if c.JSReplicas < 1 || c.JSReplicas > 5 {
		bad("OCRHOST_JS_REPLICAS must be within [1, 5], is %d", c.JSReplicas)
	}
	if c.JSAckWait < time.Second || c.TaskTTL <= 0 {
		bad("OCRHOST_JS_ACK_WAIT must be at least 1s and OCRHOST_TASK_TTL positive")
	}
	if c.MaxPixels < 1 {
		bad("OCRHOST_MAX_PIXELS must be positive, is %d", c.MaxPixels)
	}
	if c.ArenaKeep < 0 {
		bad("OCRHOST_ARENA_KEEP must be 0 or more, is %s", c.ArenaKeep)
	}
	if c.IntraOpThreads < 0 {
		bad("OCRHOST_INTRA_OP_THREADS must be 0 (automatic) or more, is %d", c.IntraOpThreads)
	}
	if c.Device != "cpu" && !strings.HasPrefix(c.Device, "cuda:") {
		bad("OCRHOST_DEVICE must be cpu or cuda:N, is %q", c.Device)
	}
	if _, err := modelFiles("", c.Int8); err != nil {
		errs = append(errs, err)
	}
	if c.Preset != "ocrhost" && c.Preset != "rapidocr" && c.Preset != "paddleocr" {
		bad("OCRHOST_PRESET must be ocrhost, rapidocr or paddleocr, is %q", c.Preset)
	}
	for name, d := range map[string]time.Duration{"OCRHOST_HTTP_READ_HEADER_TIMEOUT": c.HTTPReadHeaderTimeout,
		"OCRHOST_HTTP_READ_TIMEOUT": c.HTTPReadTimeout, "OCRHOST_HTTP_IDLE_TIMEOUT": c.HTTPIdleTimeout} {
		if d <= 0 {
			bad("%s must be a positive duration such as 10s, is %v", name, d)
		}
	}
	if n := c.HTTPMaxHeaderBytes; n < 1<<10 || n > 1<<30 {
		bad("OCRHOST_HTTP_MAX_HEADER_BYTES must be a size within [1KiB, 1GiB], is %s", memory.FormatBytes(uint64(n)))
	}
	if c.DrainQuietPeriod < 0 {
		bad("OCRHOST_DRAIN_QUIET_PERIOD must be 0 or a positive duration, is %v", c.DrainQuietPeriod)
	}
	if c.ExitWhenIdle < 0 {
		bad("OCRHOST_EXIT_WHEN_IDLE must be 0 (never) or a positive duration, is %v", c.ExitWhenIdle)
	}
	errs = append(errs, c.NATSAuth.validate(serveRole(c.NATSURL))...)
	errs = append(errs, c.validateHTTPAuth()...)
	if c.JSEncryptionKeyFile != "" && c.NATSURL != "" {
		bad("OCRHOST_JS_ENCRYPTION_KEY_FILE applies to the embedded server only; an external server encrypts its own store (docs/security.md)")
	}
	if _, err := c.defaults(); err != nil {
		bad("OCRHOST_DEFAULT_OPTIONS: %v", err)
	}
	for name, f := range map[string]float64{"OCRHOST_MEMORY_WARNING": c.MemoryWarning, "OCRHOST_MEMORY_CRITICAL": c.MemoryCritical,
		"OCRHOST_GPU_MEMORY_WARNING": c.GPUMemoryWarning, "OCRHOST_GPU_MEMORY_CRITICAL": c.GPUMemoryCritical} {
		if f <= 0 || f > 1 {
			bad("%s must be a fraction in (0, 1], is %v", name, f)
		}
	}
	if c.MemoryWarning > c.MemoryCritical || c.GPUMemoryWarning > c.GPUMemoryCritical {
		bad("warning thresholds must not exceed the critical ones")
	}
	if c.MemoryMonitorInterval <= 0 {
		bad("OCRHOST_MEMORY_MONITOR_INTERVAL must be a positive duration, is %v", c.MemoryMonitorInterval)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("OCRHOST_LOG_LEVEL must be debug, info, warn or error, is %q", c.LogLevel)
	}
	return errors.Join(errs...)
}

// byteSize is a size in bytes written as memory.ParseBytes reads it
// ("64MiB", "1.5GiB", "1048576"); envconfig decodes it once, so a bad value
// fails loadConfig naming its variable, and the rest of the host uses the
// number.
type byteSize uint64

// Decode implements envconfig.Decoder; empty is 0 (unset).
func (b *byteSize) Decode(value string) error {
	if value == "" {
		*b = 0
		return nil
	}
	n, err := memory.ParseBytes(value)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}
