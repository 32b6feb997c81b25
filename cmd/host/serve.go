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
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/natsd"
	"github.com/ocrhost/ocrhost/memory"
)

// serve runs the host until ctx ends (SIGINT/SIGTERM), then drains: no new
// work, in-flight work finishes within the grace period, models unload,
// NATS closes, and the process exits 0.
func serve(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments (configuration comes from OCRHOST_* variables), got %q", args)
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	started := time.Now()

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
			log.Error("GPU requested but this ONNX Runtime build cannot use it; running on the CPU", "device", device, "err", err)
			device = "cpu"
		}
	}
	files := function.DefaultModelFiles(modelDir)
	for _, k := range function.Kinds {
		if _, err := os.Stat(files.Path(k)); err != nil {
			return fmt.Errorf("%w: %v (run `make deps` or set OCRHOST_MODEL_DIR)", function.ErrModelUnavailable, err)
		}
	}

	probe, err := memory.NewProbe(memory.WithBudget(uint64(cfg.MemoryBudget)))
	if err != nil {
		return err
	}
	defer probe.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defaults, _ := cfg.defaults() // validated in loadConfig
	sessionOpts := []onnx.Option{onnx.WithThreads(cfg.intraOpThreads(), 1)}
	if cfg.GPUMemLimit > 0 {
		sessionOpts = append(sessionOpts, onnx.WithGPUMemLimit(int64(cfg.GPUMemLimit)))
	}
	hostOpts := []host.Option{
		host.WithModelFiles(files),
		host.WithDefaults(defaults),
		host.WithDevice(device),
		host.WithMaxPredictions(cfg.MaxPredictions),
		host.WithDetectionConcurrency(cfg.DetectionConcurrency),
		host.WithMaxServicesPerDevice(cfg.PoolMaxServicesPerDevice),
		host.WithIdleTimeout(cfg.ModelIdleTimeout),
		host.WithQueueTimeout(cfg.PoolQueueTimeout),
		host.WithMaxPixels(cfg.MaxPixels),
		host.WithSessionOptions(sessionOpts...),
		host.WithMemoryProbe(probe.RSS),
		host.WithRegisterer(reg),
		host.WithLogger(log),
		host.WithDocuments(cfg.PDFDPI, cfg.MaxBatchSize, cfg.MaxPages, cfg.pdfCacheDir()),
	}
	if cfg.MemoryGuard {
		hostOpts = append(hostOpts, host.WithMemoryGuard(probe, cfg.MemoryMonitorInterval,
			memory.Thresholds{Warning: cfg.MemoryWarning, Critical: cfg.MemoryCritical},
			memory.Thresholds{Warning: cfg.GPUMemoryWarning, Critical: cfg.GPUMemoryCritical},
			memory.WithCPUFallback(cfg.CPUFallback)))
	}
	natsURL := cfg.NATSURL
	var (
		natsOpts   []nats.Option
		serverOpts []natsd.Option
	)
	if natsURL == "" {
		natsOpts, err = embeddedClientOptions(cfg.NATSAuth)
		if err == nil {
			serverOpts, err = embeddedServerOptions(cfg.NATSAuth)
		}
	} else {
		natsOpts, err = natsOptions(cfg.NATSAuth)
	}
	if err != nil {
		return err
	}
	httpAuth, httpTLS, err := cfg.httpSecurity(log)
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
	h, err := host.New(hostOpts...)
	if err != nil {
		return err
	}
	var embedded *natsd.Server
	if natsURL == "" {
		embedded, err = natsd.Start(append(serverOpts,
			natsd.WithListen(cfg.EmbeddedNATSHost, cfg.EmbeddedNATSPort), natsd.WithStoreDir(cfg.NATSStoreDir))...)
		if err != nil {
			return err
		}
		defer embedded.Shutdown()
		natsURL = embedded.ClientURL()
		log.Info("embedded NATS server started", "url", natsURL, "store_encrypted", key != "")
		if cfg.NATSAuth.open() {
			log.Warn("NATS IS OPEN: the embedded server admits anyone who reaches its port, with every task and result; " +
				"set OCRHOST_NATS_TOKEN_FILE, OCRHOST_NATS_USER and _PASSWORD_FILE, or OCRHOST_NATS_NKEY_SEED_FILE")
		}
	}
	if httpAuth.Open() {
		log.Warn("HTTP IS OPEN: anyone who reaches the HTTP port can run OCR and read every task; " +
			"set OCRHOST_HTTP_TOKENS_FILE or OCRHOST_HTTP_CLIENT_CA")
	}
	nc, err := nats.Connect(natsURL, append(natsOpts, nats.Name("ocrhost"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", redactURLs(c.ConnectedUrl())) }))...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", redactURLs(natsURL), err)
	}
	defer nc.Close()

	// Durable jobs: the work queue, task states and large payloads.
	var inv events.Invoker = h
	var idle *idleWatch
	if cfg.ExitWhenIdle > 0 {
		idle = newIdleWatch(cfg.ExitWhenIdle, modelsLoaded(h))
		inv = idle.invoker(h)
	}
	counted := inv // what every transport invokes, so that idle sees all work
	var jsT *events.JetStream
	if cfg.JetStream {
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("JetStream: %w", err)
		}
		jsT, err = events.StartJetStream(ctx, js, counted,
			events.WithStream(cfg.JSStream, events.DefaultJobSubjects), events.WithConsumer(cfg.JSConsumer),
			events.WithAckWait(cfg.JSAckWait), events.WithMaxDeliver(cfg.JSMaxDeliver),
			events.WithJobResultSubject(cfg.ResultSubject), events.WithTaskTTL(cfg.TaskTTL),
			events.WithReplicas(cfg.JSReplicas), events.WithKeepResults(cfg.KeepResults),
			events.WithMaxInFlight(cfg.MaxPredictions), events.WithLogger(log))
		if err != nil {
			return fmt.Errorf("JetStream work queue: %w", err)
		}
		tasksSub, err := jsT.Tasks().ServeNATS(nc, events.DefaultTaskQuerySubject, cfg.QueueGroup)
		if err != nil {
			return err
		}
		defer tasksSub.Unsubscribe()
		// Request-reply and HTTP may carry an object-store reference too.
		inv = jsT.Payloads().Invoker(counted)
	}

	common := []events.Option{events.WithMaxInFlight(cfg.MaxInFlight), events.WithLogger(log)}
	natsT, err := events.StartNATS(nc, inv,
		events.WithRequestSubject(cfg.RequestSubject), events.WithResultSubject(cfg.ResultSubject),
		events.WithQueueGroup(cfg.QueueGroup), common[0], common[1])
	if err != nil {
		return err
	}
	httpT, err := events.NewHTTP(inv, events.WithMaxBodyBytes(int64(cfg.MaxBodyBytes)), common[0], common[1])
	if err != nil {
		return err
	}

	// Probes answer anyone: a kubelet has no credential. Every other route
	// needs one, and /metrics and /debug/ an admin's.
	mux := http.NewServeMux()
	var root http.Handler = httpT
	if idle != nil {
		root = idle.handler(root)
	}
	mux.Handle("/", httpAuth.Require(root, false))
	if jsT != nil {
		mux.Handle("GET /tasks/{id}", httpAuth.Require(jsT.Tasks().Handler(), false))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.Ready() || !nc.IsConnected() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	adminMux := mux
	if cfg.AdminAddr != "" {
		adminMux = http.NewServeMux()
	}
	adminMux.Handle("GET /metrics", httpAuth.Require(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), true))
	adminMux.Handle("GET /debug/memory", httpAuth.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		report, err := memoryReport(probe, h)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(report)
	}), true))
	memSub, err := nc.Subscribe(cfg.MemorySubject, func(m *nats.Msg) {
		report, err := memoryReport(probe, h)
		if err != nil {
			report, _ = json.Marshal(map[string]string{"error": err.Error()})
		}
		m.Respond(report)
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", cfg.MemorySubject, err)
	}
	defer memSub.Unsubscribe()
	// TLS, when set, is the listeners' (listen), not the servers'.
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
	servers := []*http.Server{srv}
	srvErr := make(chan error, 2)
	if cfg.AdminAddr != "" {
		adminLn, err := listen(cfg.AdminAddr, httpTLS)
		if err != nil {
			ln.Close()
			return err
		}
		admin := newServer(adminMux)
		servers = append(servers, admin)
		go func() { srvErr <- admin.Serve(adminLn) }()
		log.Info("admin listener serving /metrics and /debug/", "addr", adminLn.Addr().String())
	}
	var idleC <-chan struct{} // nil, never ready, unless OCRHOST_EXIT_WHEN_IDLE is set
	if idle != nil {
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		idleC = idle.idle(watchCtx)
	}
	go func() { srvErr <- srv.Serve(ln) }()
	log.Info("ocrhost ready", "nats", redactURLs(natsURL), "subject", cfg.RequestSubject, "http", ln.Addr().String(),
		"start_to_ready", time.Since(started).String(), "onnxruntime", onnx.Version())

	select {
	case <-ctx.Done():
		log.Info("signal received; draining", "grace", cfg.ShutdownGrace.String())
	case <-idleC:
		log.Info("idle: nothing in flight and no model loaded; draining to exit", "exit_when_idle", cfg.ExitWhenIdle.String(),
			"grace", cfg.ShutdownGrace.String())
	case err := <-srvErr:
		log.Error("HTTP server failed; shutting down", "err", err)
	}
	grace, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	stops := []func(context.Context) error{natsT.Close, httpT.Shutdown, h.Shutdown}
	for _, s := range servers {
		stops = append(stops, s.Shutdown)
	}
	if jsT != nil {
		stops = append(stops, jsT.Close)
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
	if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		log.Warn("NATS drain", "err", err)
	}
	freed := memory.Release()
	log.Info("ocrhost stopped", "released_bytes", freed)
	for _, err := range errs {
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("shutdown", "err", err)
		}
	}
	return nil
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
