// Package onnx owns ONNX Runtime: the process-wide environment and Session,
// one loaded model that any number of goroutines may run at once.
package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/ocrhost/ocrhost/function/onnx/fold"
	"github.com/ocrhost/ocrhost/internal/onnxgraph"
)

// Errors returned by this package; wrap-checked with errors.Is.
var (
	ErrRuntime       = errors.New("onnx: runtime unavailable")
	ErrModel         = errors.New("onnx: cannot load model")
	ErrClosed        = errors.New("onnx: session closed")
	ErrInference     = errors.New("onnx: inference failed")
	ErrBadShape      = errors.New("onnx: bad input shape")
	ErrNoAccelerator = errors.New("onnx: execution provider unavailable")
)

var (
	envMu     sync.Mutex
	envLib    string
	envActive bool
)

// Init loads the shared library at libPath and creates the ORT environment.
// It is idempotent for the same path; ORT allows one environment per process,
// so a different path after a successful Init is an error.
func Init(libPath string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if envActive {
		if libPath != envLib {
			return fmt.Errorf("%w: already initialised with %s", ErrRuntime, envLib)
		}
		return nil
	}
	if _, err := os.Stat(libPath); err != nil {
		return fmt.Errorf("%w: %v (run `make deps` or set OCRHOST_ORT_LIB)", ErrRuntime, err)
	}
	ort.SetSharedLibraryPath(libPath)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	envLib, envActive = libPath, true
	return nil
}

// LibraryPath is the loaded library's real path, as /proc/self/maps names
// it, or "" before Init.
func LibraryPath() string {
	envMu.Lock()
	lib := envLib
	envMu.Unlock()
	if lib == "" {
		return ""
	}
	if abs, err := filepath.Abs(lib); err == nil {
		lib = abs
	}
	if real, err := filepath.EvalSymlinks(lib); err == nil {
		lib = real
	}
	return lib
}

// Version reports the loaded ONNX Runtime version, or "" before Init.
func Version() string {
	envMu.Lock()
	defer envMu.Unlock()
	if !envActive {
		return ""
	}
	return ort.GetVersion()
}

// Options tune one session. The zero value is not used directly: see
// DefaultOptions, whose values were chosen by measurement (docs/figures.md, "Session options").
type Options struct {
	IntraOpThreads int
	InterOpThreads int
	// CPUArena keeps freed tensors in ORT's arena for reuse. Faster on repeated
	// shapes; with ArenaShrink the arena is given back after every run.
	CPUArena bool
	// MemPattern pre-plans buffers per input shape; it grows with every new
	// shape, which OCR's varying image sizes defeat, so it is off by default.
	MemPattern bool
	// ArenaShrink asks ORT to shrink the arena after each Run.
	ArenaShrink bool
	// KeepArena, with ArenaShrink, keeps the arena between runs and
	// shrinks it once the session has been idle this long (0: after every
	// run). A run then finds its memory resident instead of faulting it in
	// again, at the price of holding it while runs keep coming.
	KeepArena time.Duration
	// Device is "cpu" or "cuda:N".
	Device string
	// GPUMemLimit caps the CUDA arena in bytes (0: no cap).
	GPUMemLimit int64
	// MaxRuns caps the runs of this session at once (0: no cap), as a model
	// server's instance count does: each run holds its own activations.
	MaxRuns int
	// CacheDir keeps ONNX Runtime's optimised graph of each CPU model, so
	// that a later Open loads it without optimising again ("": no cache).
	CacheDir string
	// Fold rewrites the model before ONNX Runtime loads it (package fold):
	// the same function in fewer passes over memory.
	Fold bool
}

// Option changes Options.
type Option func(*Options)

func WithThreads(intra, inter int) Option {
	return func(o *Options) { o.IntraOpThreads, o.InterOpThreads = intra, inter }
}
func WithCPUArena(on bool) Option    { return func(o *Options) { o.CPUArena = on } }
func WithMemPattern(on bool) Option  { return func(o *Options) { o.MemPattern = on } }
func WithArenaShrink(on bool) Option { return func(o *Options) { o.ArenaShrink = on } }
func WithKeepArena(idle time.Duration) Option {
	return func(o *Options) { o.KeepArena = idle }
}
func WithDevice(d string) Option     { return func(o *Options) { o.Device = d } }
func WithGPUMemLimit(b int64) Option { return func(o *Options) { o.GPUMemLimit = b } }
func WithMaxRuns(n int) Option       { return func(o *Options) { o.MaxRuns = n } }
func WithCacheDir(dir string) Option { return func(o *Options) { o.CacheDir = dir } }
func WithFold(on bool) Option        { return func(o *Options) { o.Fold = on } }

// DefaultOptions are the measured defaults (docs/figures.md, "Session options"):
// the CPU arena on, since without it recognition runs 1.5x slower (every
// intermediate tensor is a fresh malloc), shrunk after every run so idle
// sessions give the memory back; memory patterns off, since they are planned
// per input shape and OCR shapes vary; intra-op threads as many as
// GOMAXPROCS (ORT's own choice, 0, counts cores outside a cgroup's quota);
// the model folded.
func DefaultOptions() Options {
	return Options{IntraOpThreads: runtime.GOMAXPROCS(0), InterOpThreads: 1, CPUArena: true, MemPattern: false, ArenaShrink: true, Device: "cpu", Fold: true}
}

// Session is one loaded model with a single float32 input and output.
// Run may be called concurrently (ORT's Run is thread-safe); Close waits for
// runs in flight and is safe to call more than once.
type Session struct {
	path    string
	in, out string
	opts    Options

	mu      sync.RWMutex // Run holds R, Close holds W
	sess    *ort.DynamicAdvancedSession
	runOpts *ort.RunOptions
	runs    chan struct{} // nil: no cap
	keep    *keeper       // nil: runOpts shrinks after every run
}

// Open loads the model at path. The model must have exactly one input and one output.
func Open(path string, options ...Option) (*Session, error) {
	if Version() == "" {
		return nil, fmt.Errorf("%w: Init not called", ErrRuntime)
	}
	model, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrModel, path, err)
	}
	return OpenBytes(path, model, options...)
}

// OpenBytes is Open for a caller that has already read the file at path:
// model is its bytes, and path names the session in errors and its
// cached graph.
func OpenBytes(path string, model []byte, options ...Option) (*Session, error) {
	o := DefaultOptions()
	for _, f := range options {
		f(&o)
	}
	if Version() == "" {
		return nil, fmt.Errorf("%w: Init not called", ErrRuntime)
	}
	ins, outs, err := onnxgraph.Signature(model)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrModel, path, err)
	}
	if len(ins) != 1 || len(outs) != 1 {
		return nil, fmt.Errorf("%w %s: want 1 input and 1 output, have %d and %d", ErrModel, path, len(ins), len(outs))
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	defer so.Destroy()
	if err := configure(so, o); err != nil {
		return nil, err
	}
	if o.Fold {
		// A model fold cannot read (one with subgraphs, say) loads as it
		// is: folding only saves time.
		if folded, _, err := fold.Bytes(model); err == nil {
			model = folded
		}
	}
	s, err := openCached(path, model, ins[0].Name, outs[0].Name, so, o)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrModel, path, err)
	}
	sess := &Session{path: path, in: ins[0].Name, out: outs[0].Name, opts: o, sess: s}
	if o.MaxRuns > 0 {
		sess.runs = make(chan struct{}, o.MaxRuns)
	}
	if shrink := shrinkList(o); shrink != "" {
		ro, err := ort.NewRunOptions()
		if err != nil {
			s.Destroy()
			return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
		}
		if err := ro.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", shrink); err != nil {
			ro.Destroy()
			s.Destroy()
			return nil, fmt.Errorf("%w: arena shrinkage: %v", ErrRuntime, err)
		}
		sess.runOpts = ro
		if o.KeepArena > 0 {
			sess.keep = &keeper{idle: o.KeepArena, shape: smallest(ins[0].Dims), shrink: ro}
			sess.runOpts = nil
		}
	}
	return sess, nil
}

func configure(so *ort.SessionOptions, o Options) error {
	set := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrRuntime, what, err)
		}
		return nil
	}
	if err := set("intra-op threads", so.SetIntraOpNumThreads(o.IntraOpThreads)); err != nil {
		return err
	}
	if err := set("inter-op threads", so.SetInterOpNumThreads(o.InterOpThreads)); err != nil {
		return err
	}
	if err := set("cpu arena", so.SetCpuMemArena(o.CPUArena)); err != nil {
		return err
	}
	if err := set("memory pattern", so.SetMemPattern(o.MemPattern)); err != nil {
		return err
	}
	// Spinning worker threads burn a core between runs; a host that idles
	// between events must not.
	if err := set("spin", so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0")); err != nil {
		return err
	}
	if dev, ok := cudaDevice(o.Device); ok {
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("%w: cuda: %v", ErrNoAccelerator, err)
		}
		defer cuda.Destroy()
		kv := map[string]string{
			"device_id":                 strconv.Itoa(dev),
			"arena_extend_strategy":     "kSameAsRequested",
			"cudnn_conv_algo_search":    "HEURISTIC",
			"do_copy_in_default_stream": "1",
		}
		if o.GPUMemLimit > 0 {
			kv["gpu_mem_limit"] = strconv.FormatInt(o.GPUMemLimit, 10)
		}
		if err := cuda.Update(kv); err != nil {
			return fmt.Errorf("%w: cuda options: %v", ErrNoAccelerator, err)
		}
		if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
			return fmt.Errorf("%w: cuda: %v", ErrNoAccelerator, err)
		}
	}
	return nil
}

// shrinkList names the arenas ORT should shrink after each run; ORT rejects
// a device whose allocator is not an arena, so the CPU is named only when its
// arena is on.
func shrinkList(o Options) string {
	if !o.ArenaShrink {
		return ""
	}
	var parts []string
	if o.CPUArena {
		parts = append(parts, "cpu:0")
	}
	if dev, ok := cudaDevice(o.Device); ok {
		parts = append(parts, "gpu:"+strconv.Itoa(dev))
	}
	return strings.Join(parts, ";")
}

func cudaDevice(d string) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(d, "cuda:%d", &n); err == nil {
		return n, true
	}
	return 0, false
}

// Path is the model file this session was loaded from.
func (s *Session) Path() string { return s.path }

// Options reports the options the session was opened with.
func (s *Session) Options() Options { return s.opts }

// Run feeds one float32 tensor and returns a copy of the output and its
// shape.
func (s *Session) Run(data []float32, shape ...int64) ([]float32, []int64, error) {
	var out []float32
	var outShape []int64
	err := s.RunFunc(data, shape, func(o []float32, sh []int64) error {
		out, outShape = append([]float32(nil), o...), sh
		return nil
	})
	return out, outShape, err
}

// RunFunc feeds one float32 tensor and hands the output to read, which
// must not keep it past its return. It saves Run's copy where the output is
// only reduced: recognition's scores are batch × steps × 6625 floats (19 MiB
// for 6 lines 960 px wide), which the Go binding already copies out of ORT
// once; a second copy doubled that garbage on the Go heap.
func (s *Session) RunFunc(data []float32, shape []int64, read func(out []float32, shape []int64) error) error {
	if s.runs != nil {
		s.runs <- struct{}{}
		defer func() { <-s.runs }()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return ErrClosed
	}
	in, err := ort.NewTensor(ort.NewShape(shape...), data)
	if err != nil {
		return fmt.Errorf("%w %v: %v", ErrBadShape, shape, err)
	}
	defer in.Destroy()
	if s.keep != nil {
		s.keep.start()
		defer s.keep.done(s.giveBack)
	}
	outs := []ort.Value{nil}
	if err := s.sess.RunWithOptions([]ort.Value{in}, outs, s.runOpts); err != nil {
		return fmt.Errorf("%w (%s): %v", ErrInference, s.path, err)
	}
	defer outs[0].Destroy()
	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return fmt.Errorf("%w (%s): output is not float32", ErrInference, s.path)
	}
	return read(t.GetData(), []int64(t.GetShape().Clone()))
}

// Close destroys the ORT session after runs in flight finish.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if s.runOpts != nil {
		s.runOpts.Destroy()
		s.runOpts = nil
	}
	if s.keep != nil {
		s.keep.stop()
		s.keep.shrink.Destroy()
	}
	if err != nil {
		return fmt.Errorf("onnx: destroy %s: %w", s.path, err)
	}
	return nil
}

// CUDAAvailable reports whether this ONNX Runtime build can create the
// CUDA execution provider (the npm build `make deps` fetches cannot: it
// ships no CUDA provider library). nil means it can.
func CUDAAvailable() error {
	if Version() == "" {
		return fmt.Errorf("%w: Init not called", ErrRuntime)
	}
	opts, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoAccelerator, err)
	}
	defer opts.Destroy()
	so, err := ort.NewSessionOptions()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	defer so.Destroy()
	if err := so.AppendExecutionProviderCUDA(opts); err != nil {
		return fmt.Errorf("%w: %v", ErrNoAccelerator, err)
	}
	return nil
}

// keeper holds a session's arena between runs: the last run to finish arms
// a timer, and a run starting disarms it; when it fires, giveBack runs the
// model once on its smallest input with shrinkage on, which frees every
// arena chunk that run does not use.
type keeper struct {
	idle   time.Duration
	shape  []int64
	shrink *ort.RunOptions

	mu      sync.Mutex
	running int
	timer   *time.Timer
}

func (k *keeper) start() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.running++
	if k.timer != nil {
		k.timer.Stop()
	}
}

func (k *keeper) done(giveBack func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.running--
	if k.running == 0 {
		k.timer = time.AfterFunc(k.idle, giveBack)
	}
}

func (k *keeper) idleNow() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.running == 0
}

func (k *keeper) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.timer != nil {
		k.timer.Stop()
	}
}

// giveBack shrinks the arena of an idle session (keeper).
func (s *Session) giveBack() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil || !s.keep.idleNow() {
		return
	}
	n := int64(1)
	for _, d := range s.keep.shape {
		n *= d
	}
	in, err := ort.NewTensor(ort.NewShape(s.keep.shape...), make([]float32, n))
	if err != nil {
		return
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if s.sess.RunWithOptions([]ort.Value{in}, outs, s.keep.shrink) == nil {
		outs[0].Destroy()
	}
}

// smallest is the smallest input of a model's input dimensions: one in
// the batch, 32 in any other dimension the model leaves open (detection
// takes multiples of 32).
func smallest(dims []int64) []int64 {
	out := make([]int64, len(dims))
	for i, d := range dims {
		switch {
		case d > 0:
			out[i] = d
		case i == 0:
			out[i] = 1
		default:
			out[i] = 32
		}
	}
	return out
}
