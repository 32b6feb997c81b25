// Package host runs the OCR function as a warm function: each invocation is
// decoded, admitted under a concurrency cap, leases its models from the warm
// pool, runs, and releases everything on every path, panics included. The
// transports in package events call Invoke; nothing here knows about them.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/document"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/function/imgproc"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/memory"
	"github.com/ocrhost/ocrhost/warmpool"
)

// ErrDraining is returned (as CodeBusy) once Shutdown has begun.
var ErrDraining = errors.New("host: draining, not accepting work")

// Host is one warm OCR function.
type Host struct {
	cfg   config
	pool  *warmpool.Pool[*function.Model]
	pdf   *warmpool.Pool[*document.Renderer]
	slots chan struct{} // admission: at most MaxPredictions running
	stats *stats
	mon   *memory.Monitor // nil without WithMemoryGuard
	guard *memory.Guard

	// runFn is function.Run; tests swap it to inject panics and count
	// concurrency.
	runFn func(context.Context, function.Models, *imgproc.Image, function.Options) (*function.Result, error)

	mu       sync.Mutex
	draining bool
	inflight sync.WaitGroup
	cancel   context.CancelFunc // cancels invocations still running when the grace period ends
	runCtx   context.Context

	// unloads counts destroys still running. Idle eviction destroys the
	// three models of one invocation at about the same moment, on separate
	// goroutines: only the last to finish may drop the library's code, or
	// the others' Close pages it straight back in.
	unloads atomic.Int32
}

// New builds a host; models load lazily on the first invocation.
func New(opts ...Option) (*Host, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	var so onnx.Options
	for _, o := range cfg.sessionOpts {
		o(&so)
	}
	cfg.predictor.HeldStages = so.KeepArena > 0
	if cfg.files.Dir == "" {
		return nil, fmt.Errorf("host: no model folder (WithModelFiles)")
	}
	tuneProcess(cfg.log, cfg.gcPercent)
	h := &Host{cfg: cfg, slots: make(chan struct{}, cfg.maxPredictions), runFn: function.Run}
	h.runCtx, h.cancel = context.WithCancel(context.Background())
	h.stats = newStats(cfg.registerer)
	poolOpts := []warmpool.Option{
		warmpool.WithIdleTimeout(cfg.idleTimeout),
		warmpool.WithObserver(h.stats),
	}
	if cfg.memoryProbe != nil {
		poolOpts = append(poolOpts, warmpool.WithMemoryProbe(cfg.memoryProbe))
	}
	h.pool = warmpool.New(h.load, h.destroy, poolOpts...)
	h.pdf = warmpool.New(h.loadRenderer, h.closeRenderer, poolOpts...)
	h.stats.pool = h.pool
	if cfg.probe != nil {
		h.mon = memory.NewMonitor(cfg.probe, cfg.monitor.interval, cfg.monitor.cpu, cfg.monitor.gpu,
			memory.WithLogger(cfg.log), memory.WithOnLevelChange(h.stats.memoryLevel))
		h.guard = memory.NewGuard(h.mon, append([]memory.GuardOption{
			memory.WithEvictor(evictors{h.pool, h.pdf}), memory.WithGuardObserver(h.stats)}, cfg.guardOpts...)...)
		h.mon.Start(h.runCtx)
		if cfg.registerer != nil {
			cfg.registerer.MustRegister(newMemoryCollector(cfg.probe, h.guard))
		}
	}
	return h, nil
}

func (h *Host) load(_ context.Context, k warmpool.Key) (*function.Model, error) {
	kind := function.Kind(k.Model)
	opts := append([]onnx.Option{onnx.WithDevice(k.Device)}, h.cfg.sessionOpts...)
	if kind == function.KindDet {
		opts = append(opts, onnx.WithMaxRuns(h.cfg.detectionConcurrency()))
	}
	m, err := function.LoadModel(kind, h.cfg.files, opts...)
	if err != nil {
		h.cfg.log.Error("model load failed", "model", k.String(), "err", err)
		return nil, err
	}
	h.cfg.log.Info("model loaded", "model", k.String(), "version", m.Version)
	return m, nil
}

func (h *Host) destroy(k warmpool.Key, m *function.Model) error {
	h.unloads.Add(1)
	err := m.Close()
	// ONNX Runtime frees with free(); glibc keeps it until malloc_trim.
	freed := memory.Release()
	h.cfg.log.Info("model unloaded", "model", k.String(), "released_bytes", freed)
	if h.unloads.Add(-1) == 0 && h.pool.Loaded() == 0 {
		// The last model is gone: the library code inference touched
		// serves no one until the next load (docs/memory.md).
		if _, perr := memory.PageOut(onnx.LibraryPath()); perr != nil {
			h.cfg.log.Debug("library pages not released", "err", perr)
		}
	}
	return err
}

// Unloaded reports whether no model is loaded and every unload, with the
// memory release that follows it, has finished: the moment RSS is back at a
// fresh host's. The pool's Loaded falls to 0 before its destroys run.
func (h *Host) Unloaded() bool { return h.pool.Loaded() == 0 && h.unloads.Load() == 0 }

// Pool exposes the warm pool for stats and eviction under memory pressure.
func (h *Host) Pool() *warmpool.Pool[*function.Model] { return h.pool }

// Ready reports whether the host takes work.
func (h *Host) Ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.draining
}

// begin registers an invocation unless the host is draining.
func (h *Host) begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.inflight.Add(1)
	return true
}

// Invoke runs one request. Every error it returns is a *Failure.
func (h *Host) Invoke(ctx context.Context, req *Request) (resp *Response, err error) {
	start := time.Now()
	defer func() { h.stats.invoked(start, err) }()
	if !h.begin() {
		h.stats.rejected("draining")
		return nil, Fail(CodeBusy, ErrDraining)
	}
	defer h.inflight.Done()
	// Shutdown's grace period ending cancels what is still running.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-h.runCtx.Done():
			stop()
		case <-ctx.Done():
		}
	}()

	named, rest, err := SplitFormat(req.Options)
	if err != nil {
		return nil, err
	}
	opts, err := function.ParseOptions(rest, h.cfg.defaults)
	if err != nil {
		return nil, Fail(CodeInvalidInput, err)
	}
	outFormat := h.outputFormat(named, req)
	if outFormat == format.Markdown {
		opts.Document.Markdown = true
	}
	out, err := newOutput(outFormat)
	if err != nil {
		return nil, err
	}
	// One look at the bytes: the header tells the format, the size and
	// the page count, which the content type, the document path,
	// admission and decoding all use.
	hdr, hdrErr := imageio.ReadHeader(req.Data, imageio.WithMaxPixels(h.cfg.maxPixels))
	inFormat, isDoc := document.IsDocument(req.Data, hdr.Info)
	if !isDoc {
		inFormat = hdr.Format
	}
	if err := checkContentType(req.ContentType, inFormat); err != nil {
		return nil, err
	}
	if isDoc {
		return h.invokeDocument(ctx, req, opts, inFormat, out)
	}
	// The header alone sizes the invocation, so that the decoded pixels
	// (tens of MiB for a scan) are admitted by the memory guard, not held
	// by every request queued before it.
	if hdrErr != nil {
		return nil, classifyDecode(hdrErr)
	}
	info := hdr.Info
	plan, err := function.PlanFor(info.Width, info.Height, opts)
	if err != nil {
		return nil, Fail(CodeInvalidInput, err)
	}
	prm := h.params(info.Width, info.Height, plan, opts, 0)
	need := h.cfg.predictor.Predict(OpOCR, prm)
	w, err := h.reserve(ctx, need, opts)
	if err != nil {
		return nil, err
	}
	defer w.release()
	t0 := time.Now()
	img, err := hdr.Decode(req.Data)
	if err != nil {
		return nil, classifyDecode(err)
	}
	decode := time.Since(t0)
	h.stats.stage("decode", decode)
	// Models are taken after decoding, so undecodable input loads none.
	if err := h.lease(ctx, w, opts); err != nil {
		return nil, err
	}
	// The sizes the prediction guessed become known as the call runs: the
	// detection size (det_scale auto's) after the probe pass, the widest
	// recognition batch after detection. What the prediction overshot goes
	// back to the guard then.
	revise := func() { w.shrink(h.cfg.predictor.Predict(OpOCR, prm)) }
	traced := function.WithTrace(ctx, &function.Trace{
		DetSized: func(dw, dh int) { prm.DetPixels = int64(dw) * int64(dh); revise() },
		RecSized: func(lines, width int) { prm.RecBatch, prm.MaxLineWidth = lines, width; revise() },
	})
	res, err := h.run(traced, w.models, img, opts)
	if err != nil {
		return nil, err
	}
	res.Timings.Decode = decode
	res.Timings.Total += decode
	h.stats.result(res)
	resp = &Response{ID: req.ID, Result: *res, Models: w.versions, Device: w.device, Fallback: w.fallback, Text: res.Text()}
	if opts.Document.Markdown {
		resp.Markdown = res.Markdown()
	}
	var jpg []byte
	if hdr.Format == "jpeg" && format.EmbeddableJPEG(req.Data, hdr.Orientation) {
		jpg = req.Data
	}
	page := format.Page{Number: 1, Width: res.Width, Height: res.Height, Lines: res.Lines, Blocks: res.Blocks,
		Text: resp.Text, Markdown: resp.Markdown}
	if err := out.page(page, img, jpg, false); err != nil {
		return nil, err
	}
	if err := out.finish(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkContentType refuses a content type ct the host does not read, or one
// that contradicts the format the bytes hold (sniffed; "" when unknown).
func checkContentType(ct, sniffed string) error {
	if ct == "" || ct == "application/octet-stream" {
		return nil
	}
	var format string
	switch ct {
	case "application/pdf":
		format = "pdf"
	default:
		f, err := imageio.FormatFromContentType(ct)
		if err != nil {
			return Fail(CodeUnsupportedFormat, err)
		}
		format = f
	}
	if sniffed != "" && sniffed != format {
		return Fail(CodeInvalidInput, fmt.Errorf("datacontenttype %s but the data is %s", ct, sniffed))
	}
	return nil
}

// work is what an admitted invocation holds: its slot, its memory
// reservation and its model lease, all given back by release.
type work struct {
	models   function.Models
	versions map[string]string
	device   string
	fallback bool
	undo     []func() // run in reverse by release

	// need is the work's predicted memory; mem reserves it (nil without
	// a guard), plus load for the models it loads.
	mem        *memory.Reservation
	need, load uint64
}

// shrink lowers w's predicted need, and its memory reservation with it,
// when the invocation learns it needs less than predicted.
func (w *work) shrink(need uint64) {
	if need >= w.need {
		return
	}
	w.need = need
	if w.mem != nil {
		w.mem.Shrink(need + w.load)
	}
}

// release gives back everything w holds; it is safe to call more than once.
func (w *work) release() {
	for i := len(w.undo) - 1; i >= 0; i-- {
		w.undo[i]()
	}
	w.undo = nil
}

// reserve admits an invocation needing need bytes: device choice, a
// prediction slot, then the memory guard. The caller decodes its input
// inside the reservation, then takes the models with lease; release gives
// back whatever was taken, on every path. On error nothing is held.
func (h *Host) reserve(ctx context.Context, need uint64, opts function.Options) (_ *work, err error) {
	// w, not the named result, which a failing return sets to nil first.
	w := &work{device: h.cfg.device, versions: map[string]string{}, need: need}
	defer func() {
		if err != nil {
			w.release()
		}
	}()
	if h.guard != nil {
		if w.device, w.fallback, err = h.guard.Device(w.device, need); err != nil {
			h.stats.rejected("memory")
			return nil, Fail(CodeInsufficientMemory, err)
		}
	}
	if err := h.admit(ctx); err != nil {
		h.stats.rejected("slots")
		return nil, err
	}
	w.undo = append(w.undo, func() { <-h.slots }, func() { h.stats.predicted(w.need) })

	if h.guard != nil {
		total := need + h.loadNeed(w.device, modelNames(opts.Models()))
		gctx, cancel := context.WithTimeout(ctx, h.cfg.queueTimeout)
		mem, err := h.guard.Admit(gctx, total)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, Fail(CodeBusy, fmt.Errorf("host: cancelled waiting for memory: %w", ctx.Err()))
			}
			return nil, Fail(CodeInsufficientMemory, err)
		}
		w.mem, w.load = mem, total-need
		w.undo = append(w.undo, mem.Release)
		if before := h.cfg.probe.RSS(); before > 0 {
			w.undo = append(w.undo, func() { h.stats.grew(h.cfg.probe.RSS(), before) })
		}
	}
	return w, nil
}

// lease takes the models opts needs for w, loading those not warm; release
// gives them back.
func (h *Host) lease(ctx context.Context, w *work, opts function.Options) error {
	kinds := opts.Models()
	lease, err := h.pool.Acquire(ctx, w.device, modelNames(kinds)...)
	if err != nil {
		h.stats.rejected("lease")
		return classifyAcquire(err)
	}
	w.undo = append(w.undo, lease.Release)
	for _, k := range kinds {
		m := lease.Get(string(k))
		w.versions[string(k)] = m.Version
		w.models.Set(m)
	}
	w.device = lease.Device()
	return nil
}

func modelNames(kinds []function.Kind) []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return names
}

// tuneProcess sets the process up for loading and unloading large models
// and for inference's short-lived tensors (docs/memory.md, has the
// figures). It is process-wide; the seed benchmark applies it to per-task
// loading too, to measure the pool alone.
func tuneProcess(log *slog.Logger, gcPercent int) {
	// Without this, glibc keeps what unloaded sessions and finished runs
	// freed in per-thread arenas, and an evicted host stays well above a
	// fresh one (docs/memory.md).
	if !memory.TuneAllocator() {
		log.Debug("C allocator not tuned (not glibc)")
	}
	if gcPercent > 0 {
		debug.SetGCPercent(gcPercent)
	}
	if off, err := memory.DisableTHP(); err != nil {
		log.Warn("transparent huge pages left on", "err", err)
	} else if off {
		log.Debug("transparent huge pages off for this process (system mode always)")
	}
}

// Load memory of a model not yet loaded, when no load has been measured:
// the RSS growth of each load in this build (docs/memory.md).
var defaultLoadBytes = map[string]uint64{"det": 60 << 20, "cls": 55 << 20, "rec": 66 << 20}

// loadNeed is the memory the models an invocation needs will take to load:
// zero for those loaded, the last measured load for the others.
func (h *Host) loadNeed(device string, models []string) uint64 {
	loaded := map[string]warmpool.ModelStats{}
	for _, s := range h.pool.Stats() {
		if s.Key.Device == device {
			loaded[s.Key.Model] = s
		}
	}
	var n uint64
	for _, m := range models {
		s, ok := loaded[m]
		switch {
		case ok && s.Loaded:
		case ok && s.LoadBytes > 0:
			n += s.LoadBytes
		default:
			n += defaultLoadBytes[m]
		}
	}
	return n
}

// Monitor is the memory monitor (nil without WithMemoryGuard), for the
// memory report.
func (h *Host) Monitor() *memory.Monitor { return h.mon }

// admit takes an execution slot, waiting at most the queue timeout.
func (h *Host) admit(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	h.stats.queued(1)
	defer h.stats.queued(-1)
	timer := time.NewTimer(h.cfg.queueTimeout)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-timer.C:
		return Fail(CodeBusy, fmt.Errorf("host: all %d prediction slots busy for %v", cap(h.slots), h.cfg.queueTimeout))
	case <-ctx.Done():
		return Fail(CodeBusy, fmt.Errorf("host: gave up waiting for a prediction slot: %w", ctx.Err()))
	}
}

// run calls the function, turning a panic into an internal failure so one
// bad input cannot take the host down.
func (h *Host) run(ctx context.Context, models function.Models, img *imgproc.Image, opts function.Options) (res *function.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.cfg.log.Error("function panicked", "panic", p, "stack", string(debug.Stack()))
			res, err = nil, Fail(CodeInternal, fmt.Errorf("function panicked: %v", p))
		}
	}()
	res, err = h.runFn(ctx, models, img, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, Fail(CodeBusy, fmt.Errorf("host: invocation cancelled: %w", err))
		}
		if errors.Is(err, function.ErrBadImage) {
			return nil, Fail(CodeInvalidInput, err)
		}
		return nil, Fail(CodeInternal, err)
	}
	return res, nil
}

func classifyDecode(err error) *Failure {
	switch {
	case errors.Is(err, imageio.ErrUnsupported):
		return Fail(CodeUnsupportedFormat, err)
	case errors.Is(err, imageio.ErrTooLarge):
		return Fail(CodeTooLarge, err)
	default: // empty, truncated, corrupt, zero-size
		return Fail(CodeInvalidInput, err)
	}
}

func classifyAcquire(err error) *Failure {
	switch {
	case errors.Is(err, warmpool.ErrClosed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Fail(CodeBusy, err)
	default:
		return Fail(CodeInternal, err)
	}
}

// Shutdown stops taking work, lets invocations in flight finish until ctx
// ends, cancels the rest (they answer busy), then unloads every model.
func (h *Host) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.draining = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() {
		h.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		h.cfg.log.Warn("grace period over; cancelling invocations still running")
		h.cancel()
		<-done
	}
	h.cancel()
	if h.mon != nil {
		h.mon.Stop()
	}
	tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(h.pool.Teardown(tctx), h.pdf.Teardown(tctx))
}

// evictors evicts from each pool in turn, models first.
type evictors []memory.Evictor

func (e evictors) EvictIdle(n int) int {
	freed := 0
	for _, ev := range e {
		if freed < n {
			freed += ev.EvictIdle(n - freed)
		}
	}
	return freed
}

// Logger is the host's logger, for the transports to share.
func (h *Host) Logger() *slog.Logger { return h.cfg.log }

// params are the sizes the memory of one invocation of a w×h image (or of
// a document's pages that size, with ahead of them rendered while one is in
// work) is predicted from, before it runs.
func (h *Host) params(w, ht int, plan function.Plan, o function.Options, ahead int) Params {
	batch, lineWidth := h.cfg.predictor.EstimateRecognition(plan.WorkW, plan.WorkH, o.RecBatch)
	return Params{
		ImagePixels:   int64(w) * int64(ht),
		WorkPixels:    int64(plan.WorkW) * int64(plan.WorkH),
		DetPixels:     int64(plan.DetW) * int64(plan.DetH),
		Recognize:     o.Stages.Recognize,
		Classify:      o.Stages.Classify,
		RecBatch:      batch,
		MaxLineWidth:  lineWidth,
		Pages:         1,
		PagesPerBatch: 1,
		Ahead:         ahead,
	}
}

// Guard is the memory guard (nil without WithMemoryGuard).
func (h *Host) Guard() *memory.Guard { return h.guard }
