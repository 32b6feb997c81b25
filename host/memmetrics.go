package host

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ocrhost/ocrhost/memory"
)

// memoryCollector reads the probe at scrape time, so the figures are as
// fresh as the scrape and cost nothing between scrapes.
type memoryCollector struct {
	probe *memory.Probe
	guard *memory.Guard

	rss, anon, file, goHeap, used, limit, budget, reserved *prometheus.Desc
	cgUsage, cgLimit, cgWorkingSet                         *prometheus.Desc
	gpuUsed, gpuTotal                                      *prometheus.Desc
}

func newMemoryCollector(p *memory.Probe, g *memory.Guard) *memoryCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ocrhost_"+name, help, labels, nil)
	}
	return &memoryCollector{probe: p, guard: g,
		rss:          d("process_rss_bytes", "Resident set size of the host process."),
		anon:         d("process_rss_anon_bytes", "Anonymous resident memory (heaps, ONNX Runtime arenas)."),
		file:         d("process_rss_file_bytes", "File-backed resident memory (mapped libraries and models)."),
		goHeap:       d("go_heap_inuse_bytes", "Go heap in use."),
		used:         d("memory_used_bytes", "Memory counted against the limit: cgroup working set when limited, else RSS."),
		limit:        d("memory_limit_bytes", "Effective limit: the tightest of cgroup, budget and RAM."),
		budget:       d("memory_budget_bytes", "Configured budget (0: none)."),
		reserved:     d("memory_reserved_bytes", "Predicted need of the invocations admitted and running."),
		cgUsage:      d("cgroup_memory_usage_bytes", "cgroup memory.current."),
		cgLimit:      d("cgroup_memory_limit_bytes", "Tightest cgroup memory.max/memory.high (0: unlimited)."),
		cgWorkingSet: d("cgroup_memory_working_set_bytes", "cgroup memory.current minus inactive_file."),
		gpuUsed:      d("gpu_memory_used_bytes", "GPU memory in use (total − free), per device.", "gpu"),
		gpuTotal:     d("gpu_memory_total_bytes", "GPU memory, per device.", "gpu"),
	}
}

func (c *memoryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rss, c.anon, c.file, c.goHeap, c.used, c.limit, c.budget, c.reserved,
		c.cgUsage, c.cgLimit, c.cgWorkingSet, c.gpuUsed, c.gpuTotal} {
		ch <- d
	}
}

func (c *memoryCollector) Collect(ch chan<- prometheus.Metric) {
	s, _ := c.probe.Snapshot()
	if s.Time.IsZero() {
		return
	}
	g := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	g(c.rss, s.RSS)
	g(c.anon, s.RSSAnon)
	g(c.file, s.RSSFile)
	g(c.goHeap, s.GoHeapInUse)
	g(c.used, s.Used())
	g(c.limit, s.Limit)
	g(c.budget, s.Budget)
	if c.guard != nil {
		g(c.reserved, c.guard.Reserved())
	}
	if cg := s.Cgroup; cg != nil {
		g(c.cgUsage, cg.Current)
		g(c.cgLimit, cg.Limit())
		g(c.cgWorkingSet, cg.WorkingSet)
	}
	for _, gpu := range s.GPUs {
		idx := strconv.Itoa(gpu.Index)
		g(c.gpuUsed, gpu.Total-gpu.Free, idx)
		g(c.gpuTotal, gpu.Total, idx)
	}
}
