package host

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/memory"
	"github.com/ocrhost/ocrhost/warmpool"
)

// stats holds the host's Prometheus metrics, in base units with the
// ocrhost_ prefix, and observes the warm pool.
type stats struct {
	pool        *warmpool.Pool[*function.Model]
	loads       *prometheus.CounterVec
	loadSeconds *prometheus.GaugeVec
	loadBytes   *prometheus.GaugeVec
	evictions   *prometheus.CounterVec
	inUse       *prometheus.GaugeVec
	admitWait   prometheus.Gauge
	invocations *prometheus.CounterVec
	duration    prometheus.Histogram
	stages      *prometheus.HistogramVec
	rejections  *prometheus.CounterVec
	fallbacks   prometheus.Counter
	levels      *prometheus.GaugeVec
	warnings    *prometheus.CounterVec
	admitWaits  prometheus.Histogram
	predictedB  prometheus.Histogram
	grewB       prometheus.Histogram
	dropped     *prometheus.CounterVec
}

func newStats(reg prometheus.Registerer) *stats {
	s := &stats{
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocrhost_model_loads_total", Help: "Model loads by result (ok, error).",
		}, []string{"model", "device", "result"}),
		loadSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocrhost_model_load_seconds", Help: "Duration of the latest load of each model.",
		}, []string{"model", "device"}),
		loadBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocrhost_model_load_bytes", Help: "Process RSS growth measured over the latest load of each model.",
		}, []string{"model", "device"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocrhost_model_evictions_total", Help: "Models unloaded, by reason (idle, pressure, teardown).",
		}, []string{"model", "device", "reason"}),
		inUse: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocrhost_pool_leases_in_use", Help: "Model leases (service instances) in use per device.",
		}, []string{"device"}),
		admitWait: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ocrhost_admission_waiting", Help: "Invocations waiting for a prediction slot.",
		}),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocrhost_invocations_total", Help: "Invocations by outcome: ok or the failure code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ocrhost_invocation_duration_seconds", Help: "Invocation time from receipt to result.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ocrhost_stage_duration_seconds", Help: "Time per pipeline stage.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"stage"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocrhost_admission_rejections_total", Help: "Invocations turned away, by reason (slots, lease, memory, draining).",
		}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocrhost_lines_dropped_total", Help: "Detected lines left out of results, by reason (drop_score: recognised below the drop_score option).",
		}, []string{"reason"}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ocrhost_cpu_fallbacks_total", Help: "Invocations run on the CPU because the GPU was short.",
		}),
		levels: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocrhost_memory_pressure_level", Help: "0 ok, 1 warning, 2 critical, per resource (memory, gpuN).",
		}, []string{"resource"}),
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocrhost_memory_pressure_crossings_total", Help: "Upward crossings of the warning or critical threshold.",
		}, []string{"resource", "level"}),
		admitWaits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ocrhost_memory_admission_wait_seconds", Help: "Time invocations waited for memory.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
		predictedB: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ocrhost_invocation_predicted_bytes", Help: "Predicted memory need of admitted invocations, as revised once the detection size is known.",
			Buckets: prometheus.ExponentialBuckets(1<<20, 2, 12),
		}),
		grewB: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ocrhost_invocation_rss_growth_bytes", Help: "Process RSS growth over an invocation (other invocations included), to set against the prediction.",
			Buckets: prometheus.ExponentialBuckets(1<<20, 2, 12),
		}),
	}
	if reg == nil {
		return s
	}
	loaded := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ocrhost_models_loaded", Help: "Models loaded in the warm pool.",
	}, func() float64 {
		if s.pool == nil {
			return 0
		}
		return float64(s.pool.Loaded())
	})
	reg.MustRegister(loaded, s.dropped, s.loads, s.loadSeconds, s.loadBytes, s.evictions, s.inUse,
		s.admitWait, s.invocations, s.duration, s.stages, s.rejections, s.fallbacks, s.levels, s.warnings,
		s.admitWaits, s.predictedB, s.grewB)
	return s
}

func (s *stats) Loaded(k warmpool.Key, d time.Duration, bytes uint64, err error) {
	if err != nil {
		s.loads.WithLabelValues(k.Model, k.Device, "error").Inc()
		return
	}
	s.loads.WithLabelValues(k.Model, k.Device, "ok").Inc()
	s.loadSeconds.WithLabelValues(k.Model, k.Device).Set(d.Seconds())
	s.loadBytes.WithLabelValues(k.Model, k.Device).Set(float64(bytes))
}

func (s *stats) Evicted(k warmpool.Key, reason warmpool.EvictReason, _ error) {
	s.evictions.WithLabelValues(k.Model, k.Device, string(reason)).Inc()
}

func (s *stats) InUse(device string, n int) { s.inUse.WithLabelValues(device).Set(float64(n)) }

func (s *stats) queued(delta int) { s.admitWait.Add(float64(delta)) }

func (s *stats) stage(name string, d time.Duration) {
	s.stages.WithLabelValues(name).Observe(d.Seconds())
}

func (s *stats) result(res *function.Result) {
	if res.Dropped > 0 {
		s.dropped.WithLabelValues("drop_score").Add(float64(res.Dropped))
	}
	t := &res.Timings
	for name, d := range map[string]time.Duration{
		"det_pre": t.DetPre, "det_infer": t.DetInfer, "det_post": t.DetPost, "crop": t.Crop,
		"cls": t.Classify, "rec": t.Recognize, "order": t.Order, "tables": t.Tables,
	} {
		if d > 0 {
			s.stage(name, d)
		}
	}
}

func (s *stats) invoked(start time.Time, err error) {
	code := "ok"
	if err != nil {
		code = string(AsFailure(err).Code)
	}
	s.invocations.WithLabelValues(code).Inc()
	s.duration.Observe(time.Since(start).Seconds())
}

func (s *stats) rejected(reason string) { s.rejections.WithLabelValues(reason).Inc() }

func (s *stats) predicted(b uint64) { s.predictedB.Observe(float64(b)) }

func (s *stats) grew(after, before uint64) {
	if after > before {
		s.grewB.Observe(float64(after - before))
	} else {
		s.grewB.Observe(0)
	}
}

// memoryLevel records the monitor's level changes.
func (s *stats) memoryLevel(e memory.Event) {
	s.levels.WithLabelValues(e.Resource).Set(float64(e.To))
	if e.To > e.From {
		s.warnings.WithLabelValues(e.Resource, e.To.String()).Inc()
	}
}

// The memory guard's observer.
func (s *stats) Admitted(_ uint64, waited time.Duration) { s.admitWaits.Observe(waited.Seconds()) }
func (s *stats) Rejected(uint64)                         { s.rejected("memory") }
func (s *stats) EvictedForMemory(int)                    {}
func (s *stats) Fallback(string, string)                 { s.fallbacks.Inc() }
