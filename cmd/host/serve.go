package main

import (
	"context"
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

	lib, modelDir := function.LocateAssets()
	if cfg.ORTLib != "" {
		lib = cfg.ORTLib
	}
	if cfg.ModelDir != "" {
		modelDir = cfg.ModelDir
	}
	if err := onnx.Init(lib); err != nil {
		return err
	}
	files := function.DefaultModelFiles(modelDir)
	for _, k := range function.Kinds {
		if _, err := os.Stat(files.Path(k)); err != nil {
			return fmt.Errorf("%w: %v (run `make deps` or set OCRHOST_MODEL_DIR)", function.ErrModelUnavailable, err)
		}
	}

	var budget uint64
	if cfg.MemoryBudget != "" {
		budget, _ = memory.ParseBytes(cfg.MemoryBudget) // validated in loadConfig
	}
	probe, err := memory.NewProbe(memory.WithBudget(budget))
	if err != nil {
		return err
	}
	defer probe.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defaults := function.PresetOptions(function.Preset(cfg.Preset))
	h, err := host.New(
		host.WithModelFiles(files),
		host.WithDefaults(defaults),
		host.WithDevice(cfg.Device),
		host.WithMaxPredictions(cfg.MaxPredictions),
		host.WithMaxServicesPerDevice(cfg.PoolMaxServicesPerDevice),
		host.WithIdleTimeout(cfg.ModelIdleTimeout),
		host.WithQueueTimeout(cfg.PoolQueueTimeout),
		host.WithMaxPixels(cfg.MaxPixels),
		host.WithSessionOptions(onnx.WithThreads(cfg.intraOpThreads(), 1)),
		host.WithMemoryProbe(probe.RSS),
		host.WithRegisterer(reg),
		host.WithLogger(log),
	)
	if err != nil {
		return err
	}

	natsURL := cfg.NATSURL
	var embedded *natsd.Server
	if natsURL == "" {
		embedded, err = natsd.Start(natsd.WithListen(cfg.EmbeddedNATSHost, cfg.EmbeddedNATSPort), natsd.WithStoreDir(cfg.NATSStoreDir))
		if err != nil {
			return err
		}
		defer embedded.Shutdown()
		natsURL = embedded.ClientURL()
		log.Info("embedded NATS server started", "url", natsURL)
	}
	nc, err := nats.Connect(natsURL, nats.Name("ocrhost"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", c.ConnectedUrl()) }))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", natsURL, err)
	}
	defer nc.Close()

	common := []events.Option{events.WithMaxInFlight(cfg.MaxInFlight), events.WithLogger(log)}
	natsT, err := events.StartNATS(nc, h,
		events.WithRequestSubject(cfg.RequestSubject), events.WithResultSubject(cfg.ResultSubject),
		events.WithQueueGroup(cfg.QueueGroup), common[0], common[1])
	if err != nil {
		return err
	}
	maxBody, _ := memory.ParseBytes(cfg.MaxBodyBytes)
	httpT, err := events.NewHTTP(h, events.WithMaxBodyBytes(int64(maxBody)), common[0], common[1])
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/", httpT)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.Ready() || !nc.IsConnected() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /debug/memory", func(w http.ResponseWriter, _ *http.Request) {
		snap, err := probe.Snapshot()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Memory memory.Snapshot `json:"memory"`
			Models []warmpoolStats `json:"models"`
		}{snap, poolStats(h)})
	})
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      cfg.PoolQueueTimeout + 5*time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	log.Info("ocrhost ready", "nats", natsURL, "subject", cfg.RequestSubject, "http", ln.Addr().String(),
		"start_to_ready", time.Since(started).String(), "onnxruntime", onnx.Version())

	select {
	case <-ctx.Done():
		log.Info("signal received; draining", "grace", cfg.ShutdownGrace.String())
	case err := <-srvErr:
		log.Error("HTTP server failed; shutting down", "err", err)
	}
	grace, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, stop := range []func(context.Context) error{natsT.Close, httpT.Shutdown, srv.Shutdown, h.Shutdown} {
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

// warmpoolStats is one model's line in /debug/memory.
type warmpoolStats struct {
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

func poolStats(h *host.Host) []warmpoolStats {
	var out []warmpoolStats
	for _, s := range h.Pool().Stats() {
		out = append(out, warmpoolStats{s.Key.Model, s.Key.Device, s.Loaded, s.Refs, s.LastUse,
			s.LoadTime.String(), s.LoadBytes, s.Loads, s.Evictions})
	}
	return out
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated in loadConfig
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
