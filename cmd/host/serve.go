package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/natsd"
	"github.com/ocrhost/ocrhost/memory"
)

// serve runs the host until ctx ends (SIGINT/SIGTERM), then drains: no new
// work, in-flight work finishes within the grace period, models unload,
// NATS closes, and the process exits 0. It reads top down as its phases,
// the way of-watchdog and knative's serving binaries do: build the host,
// connect to NATS, start the transports, serve, drain.
func serve(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments (configuration comes from OCRHOST_* variables), got %q", args)
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	a := &app{cfg: cfg, log: newLogger(cfg.LogLevel), started: time.Now()}
	defer a.close()
	if err := a.build(); err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	if err := a.start(ctx); err != nil {
		return err
	}
	a.serve(ctx)
	a.drain()
	return nil
}

// app is a served host and everything around it, filled in phase by phase;
// close releases what the phases acquired, in reverse, on every path.
type app struct {
	cfg     config
	log     *slog.Logger
	started time.Time
	closers []func()

	probe   *memory.Probe
	reg     *prometheus.Registry
	h       *host.Host
	natsURL string
	// tenants are the NATS users of OCRHOST_NATS_USERS_FILE that are not admins.
	tenants  []string
	nc       *nats.Conn
	jsT      *jobs.Worker
	natsT    *events.NATS
	httpT    *events.HTTP
	servers  []*http.Server
	srvErr   chan error
	idle     *idleWatch
	idleC    <-chan struct{} // nil, never ready, unless OCRHOST_EXIT_WHEN_IDLE is set
	draining atomic.Bool     // /readyz fails from the start of the drain
}

func (a *app) onClose(f func()) { a.closers = append(a.closers, f) }

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// build initialises ONNX Runtime, measures memory and makes the host; no
// model loads until work arrives.
func (a *app) build() error {
	cfg := a.cfg
	lib, modelDir := locateAssets(cfg.ORTLib, cfg.ModelDir)
	if err := onnx.Init(lib); err != nil {
		return err
	}
	device := cfg.Device
	if device != "cpu" {
		if err := onnx.CUDAAvailable(); err != nil {
			if !cfg.CPUFallback {
				return fmt.Errorf("OCRHOST_DEVICE=%s: %w (OCRHOST_CPU_FALLBACK is off)", device, err)
			}
			a.log.Error("GPU requested but this ONNX Runtime build cannot use it; running on the CPU", "device", device, "err", err)
			device = "cpu"
		}
	}
	files, err := modelFiles(modelDir, cfg.Int8)
	if err != nil {
		return err
	}
	for _, k := range function.Kinds {
		if _, err := os.Stat(files.Path(k)); err != nil {
			return fmt.Errorf("%w: %v (run `make deps` or set OCRHOST_MODEL_DIR)", function.ErrModelUnavailable, err)
		}
	}
	probe, err := memory.NewProbe(memory.WithBudget(uint64(cfg.MemoryBudget)))
	if err != nil {
		return err
	}
	a.probe = probe
	a.onClose(func() { probe.Close() })

	a.reg = prometheus.NewRegistry()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defaults, _ := cfg.defaults() // validated in loadConfig
	sessionOpts := []onnx.Option{onnx.WithThreads(cfg.intraOpThreads(), 1), onnx.WithCacheDir(cfg.ortCacheDir()), onnx.WithKeepArena(cfg.ArenaKeep)}
	if cfg.GPUMemLimit > 0 {
		sessionOpts = append(sessionOpts, onnx.WithGPUMemLimit(int64(cfg.GPUMemLimit)))
	}
	hostOpts := []host.Option{
		host.WithModelFiles(files),
		host.WithDefaults(defaults),
		host.WithFormat(cfg.defaultFormat()),
		host.WithDevice(device),
		host.WithMaxPredictions(cfg.MaxPredictions),
		host.WithDetectionConcurrency(cfg.DetectionConcurrency),
		host.WithIdleTimeout(cfg.ModelIdleTimeout),
		host.WithQueueTimeout(cfg.PoolQueueTimeout),
		host.WithMaxPixels(cfg.MaxPixels),
		host.WithSessionOptions(sessionOpts...),
		host.WithMemoryProbe(probe.RSS),
		host.WithRegisterer(a.reg),
		host.WithLogger(a.log),
		host.WithDocuments(cfg.PDFDPI, cfg.MaxBatchSize, cfg.MaxPages, cfg.pdfCacheDir()),
	}
	hostOpts = append(hostOpts, hostGC()...)
	if cfg.MemoryGuard {
		hostOpts = append(hostOpts, host.WithMemoryGuard(probe, cfg.MemoryMonitorInterval,
			memory.Thresholds{Warning: cfg.MemoryWarning, Critical: cfg.MemoryCritical},
			memory.Thresholds{Warning: cfg.GPUMemoryWarning, Critical: cfg.GPUMemoryCritical},
			memory.WithCPUFallback(cfg.CPUFallback)))
	}
	a.h, err = host.New(hostOpts...)
	return err
}

// connect starts the embedded NATS server when no URL is configured, and
// connects to NATS with the configured credentials.
func (a *app) connect() error {
	cfg, log := a.cfg, a.log
	a.natsURL = cfg.NATSURL
	var (
		natsOpts   []nats.Option
		serverOpts []natsd.Option
		err        error
	)
	var users []natsUser
	if cfg.UsersFile != "" {
		if users, err = readNATSUsers(cfg.UsersFile); err != nil {
			return err
		}
		a.tenants = tenants(users)
	}
	if a.natsURL == "" {
		natsOpts, err = embeddedClientOptions(cfg.NATSAuth)
		if err == nil {
			serverOpts, err = embeddedServerOptions(cfg.NATSAuth)
		}
		if len(users) > 0 {
			serverOpts = append(serverOpts, natsd.WithUsers(serverUsers(users, cfg.RequestSubject)...))
		}
	} else {
		natsOpts, err = natsOptions(cfg.NATSAuth)
	}
	if err != nil {
		return err
	}
	key, err := cfg.storeKey()
	if err != nil {
		return err
	}
	if key != "" {
		serverOpts = append(serverOpts, natsd.WithEncryption(key))
	}
	if a.natsURL == "" {
		embedded, err := natsd.Start(append(serverOpts,
			natsd.WithListen(cfg.EmbeddedNATSHost, cfg.EmbeddedNATSPort), natsd.WithStoreDir(cfg.NATSStoreDir))...)
		if err != nil {
			return err
		}
		a.onClose(embedded.Shutdown)
		a.natsURL = embedded.ClientURL()
		log.Info("embedded NATS server started", "url", a.natsURL, "store_encrypted", key != "")
		if cfg.NATSAuth.open() {
			log.Warn("NATS IS OPEN: the embedded server admits anyone who reaches its port, with every task and result; " +
				"set OCRHOST_NATS_TOKEN_FILE, OCRHOST_NATS_USER and _PASSWORD_FILE, or OCRHOST_NATS_NKEY_SEED_FILE")
		}
	}
	nc, err := nats.Connect(a.natsURL, append(natsOpts, nats.Name("ocrhost"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", redactURLs(c.ConnectedUrl())) }))...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", redactURLs(a.natsURL), err)
	}
	a.nc = nc
	a.onClose(nc.Close)
	return nil
}

// start runs the transports (the JetStream work queue, NATS, HTTP), the
// memory subject and the HTTP listeners.
func (a *app) start(ctx context.Context) error {
	cfg, log, h, nc := a.cfg, a.log, a.h, a.nc
	httpAuth, httpTLS, err := cfg.httpSecurity(log)
	if err != nil {
		return err
	}
	if httpAuth.Open() {
		log.Warn("HTTP IS OPEN: anyone who reaches the HTTP port can run OCR and read every task; " +
			"set OCRHOST_HTTP_TOKENS_FILE or OCRHOST_HTTP_CLIENT_CA")
	}

	// Durable jobs: the work queue, task states and large payloads.
	var inv events.Invoker = h
	if cfg.ExitWhenIdle > 0 {
		a.idle = newIdleWatch(cfg.ExitWhenIdle, modelsLoaded(h))
		inv = a.idle.invoker(h)
	}
	counted := inv // what every transport invokes, so that idle sees all work
	if cfg.JetStream {
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("JetStream: %w", err)
		}
		a.jsT, err = jobs.Start(ctx, js, counted,
			jobs.WithStream(cfg.JSStream, jobs.DefaultJobSubjects), jobs.WithConsumer(cfg.JSConsumer),
			jobs.WithAckWait(cfg.JSAckWait), jobs.WithMaxDeliver(cfg.JSMaxDeliver),
			jobs.WithJobResultSubject(cfg.ResultSubject), jobs.WithTaskTTL(cfg.TaskTTL),
			jobs.WithReplicas(cfg.JSReplicas), jobs.WithKeepResults(cfg.KeepResults),
			jobs.WithTenants(a.tenants...), jobs.WithMaxInFlight(cfg.MaxPredictions), jobs.WithLogger(log))
		if err != nil {
			return fmt.Errorf("JetStream work queue: %w", err)
		}
		tasksSubs, err := a.jsT.Tasks().ServeNATS(nc, jobs.DefaultTaskQuerySubject, cfg.QueueGroup)
		if err != nil {
			return err
		}
		a.onClose(func() {
			for _, s := range tasksSubs {
				s.Unsubscribe()
			}
		})
		// Request-reply and HTTP may carry an object-store reference too.
		inv = a.jsT.Payloads().Invoker(counted)
	}

	common := []events.Option{events.WithMaxInFlight(cfg.MaxInFlight), events.WithLogger(log)}
	natsOpts := []events.NATSOption{events.WithRequestSubject(cfg.RequestSubject), events.WithResultSubject(cfg.ResultSubject),
		events.WithQueueGroup(cfg.QueueGroup), common[0], common[1]}
	if a.jsT != nil {
		// Answers too large for a message (a long document's PDF) go
		// through the result bucket.
		natsOpts = append(natsOpts, events.WithLargeAnswers(a.jsT.Tasks()))
	}
	a.natsT, err = events.StartNATS(nc, inv, natsOpts...)
	if err != nil {
		return err
	}
	a.httpT, err = events.NewHTTP(inv, events.WithMaxBodyBytes(int64(cfg.MaxBodyBytes)), common[0], common[1])
	if err != nil {
		return err
	}

	// Probes answer anyone: a kubelet has no credential. Every other route
	// needs one, and /metrics and /debug/ an admin's.
	mux := http.NewServeMux()
	var root http.Handler = a.httpT
	if a.idle != nil {
		root = a.idle.handler(root)
	}
	mux.Handle("/", httpAuth.Require(root, false))
	// The page to try the host in a browser holds no data: it is served to
	// anyone, and its requests to POST / carry the credential typed into it.
	mux.HandleFunc("GET /{$}", servePage)
	if a.jsT != nil {
		mux.Handle("GET /tasks/{id}", httpAuth.Require(a.jsT.Tasks().Handler(), false))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if a.draining.Load() || !h.Ready() || !nc.IsConnected() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	adminMux := mux
	if cfg.AdminAddr != "" {
		adminMux = http.NewServeMux()
	}
	adminMux.Handle("GET /metrics", httpAuth.Require(promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}), true))
	adminMux.Handle("GET /debug/memory", httpAuth.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		report, err := memoryReport(a.probe, h)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(report)
	}), true))
	memSub, err := nc.Subscribe(cfg.MemorySubject, func(m *nats.Msg) {
		report, err := memoryReport(a.probe, h)
		if err != nil {
			report, _ = json.Marshal(map[string]string{"error": err.Error()})
		}
		m.Respond(report)
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", cfg.MemorySubject, err)
	}
	a.onClose(func() { memSub.Unsubscribe() })
	return a.listen(ctx, mux, adminMux, httpTLS)
}

// listen opens the HTTP listeners (TLS, when set, is theirs) and serves on
// them.
func (a *app) listen(ctx context.Context, mux, adminMux http.Handler, httpTLS *tls.Config) error {
	cfg := a.cfg
	newServer := func(handler http.Handler) *http.Server {
		return &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
			ReadTimeout:       cfg.HTTPReadTimeout,
			WriteTimeout:      cfg.PoolQueueTimeout + 5*time.Minute,
			IdleTimeout:       cfg.HTTPIdleTimeout,
			MaxHeaderBytes:    int(cfg.HTTPMaxHeaderBytes),
		}
	}
	ln, err := listen(cfg.HTTPAddr, httpTLS)
	if err != nil {
		return err
	}
	srv := newServer(mux)
	a.servers = []*http.Server{srv}
	a.srvErr = make(chan error, 2)
	if cfg.AdminAddr != "" {
		adminLn, err := listen(cfg.AdminAddr, httpTLS)
		if err != nil {
			ln.Close()
			return err
		}
		admin := newServer(adminMux)
		a.servers = append(a.servers, admin)
		go func() { a.srvErr <- admin.Serve(adminLn) }()
		a.log.Info("admin listener serving /metrics and /debug/", "addr", adminLn.Addr().String())
	}
	if a.idle != nil {
		watchCtx, stopWatch := context.WithCancel(ctx)
		a.onClose(stopWatch)
		a.idleC = a.idle.idle(watchCtx)
	}
	go func() { a.srvErr <- srv.Serve(ln) }()
	a.log.Info("ocrhost ready", "nats", redactURLs(a.natsURL), "subject", cfg.RequestSubject, "http", ln.Addr().String(),
		"start_to_ready", time.Since(a.started).String(), "onnxruntime", onnx.Version())
	return nil
}

// serve waits for the reason to stop: a signal, idleness, or a failed
// HTTP server.
func (a *app) serve(ctx context.Context) {
	grace := a.cfg.ShutdownGrace.String()
	select {
	case <-ctx.Done():
		a.log.Info("signal received; draining", "grace", grace)
	case <-a.idleC:
		a.log.Info("idle: nothing in flight and no model loaded; draining to exit", "exit_when_idle", a.cfg.ExitWhenIdle.String(),
			"grace", grace)
	case err := <-a.srvErr:
		a.log.Error("HTTP server failed; shutting down", "err", err)
	}
}

// drain stops taking work and lets in-flight work finish. /readyz fails
// first and stays failing for the quiet period while everything still
// serves, so that load balancers stop sending before the listeners close
// (knative's network/handlers.Drainer). Then every transport, the host and
// the HTTP servers stop at once within the grace period, NATS drains, and
// freed memory goes back to the system.
func (a *app) drain() {
	a.draining.Store(true)
	if q := a.cfg.DrainQuietPeriod; q > 0 {
		a.log.Info("readiness failing; quiet period before closing", "quiet_period", q.String())
		time.Sleep(q)
	}
	grace, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	stops := []func(context.Context) error{a.natsT.Close, a.httpT.Shutdown, a.h.Shutdown}
	for _, s := range a.servers {
		stops = append(stops, s.Shutdown)
	}
	if a.jsT != nil {
		stops = append(stops, a.jsT.Close)
	}
	errs := make([]error, len(stops))
	for i, stop := range stops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stop(grace)
		}()
	}
	wg.Wait()
	if err := a.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		a.log.Warn("NATS drain", "err", err)
	}
	freed := memory.Release()
	a.log.Info("ocrhost stopped", "released_bytes", freed)
	for _, err := range errs {
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("shutdown", "err", err)
		}
	}
}

// listen opens a TCP listener on addr, serving TLS with tc when it is set.
func listen(addr string, tc *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}

// memoryReport is the JSON of /debug/memory and of the memory subject:
// the measured figures, what admitted work has reserved, and each model.
func memoryReport(probe *memory.Probe, h *host.Host) ([]byte, error) {
	snap, err := probe.Snapshot()
	if snap.Time.IsZero() {
		return nil, err
	}
	type model struct {
		Model     string    `json:"model"`
		Device    string    `json:"device"`
		Loaded    bool      `json:"loaded"`
		Refs      int       `json:"refs"`
		LastUse   time.Time `json:"last_use"`
		LoadTime  string    `json:"load_time"`
		LoadBytes uint64    `json:"load_bytes"`
		Loads     int       `json:"loads"`
		Evictions int       `json:"evictions"`
	}
	report := struct {
		Memory   memory.Snapshot `json:"memory"`
		Used     uint64          `json:"used"`
		Fraction float64         `json:"fraction"`
		Reserved uint64          `json:"reserved"`
		Level    string          `json:"level"`
		Models   []model         `json:"models"`
	}{Memory: snap, Used: snap.Used(), Fraction: snap.Fraction(), Models: []model{}}
	if mon := h.Monitor(); mon != nil {
		report.Level = mon.Level().String()
		report.Reserved = h.Guard().Reserved()
	}
	for _, s := range h.Pool().Stats() {
		report.Models = append(report.Models, model{s.Key.Model, s.Key.Device, s.Loaded, s.Refs, s.LastUse,
			s.LoadTime.String(), s.LoadBytes, s.Loads, s.Evictions})
	}
	return json.Marshal(report)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated in loadConfig
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
