package loadgen

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

var (
	// ErrUnanswered: requests timed out, were cancelled or met transport errors.
	ErrUnanswered = errors.New("requests went unanswered")
	// ErrFailed: requests were answered with failures.
	ErrFailed = errors.New("requests failed")
	// ErrRSSGrowth: the host's RSS kept growing over the run's second half.
	ErrRSSGrowth = errors.New("RSS grows")
	// ErrTooFewSamples: too few memory samples to judge the RSS trend.
	ErrTooFewSamples = errors.New("too few memory samples")
	// ErrUnaccounted: the records do not add up to the requests sent; a
	// bug in the generator, never in the host.
	ErrUnaccounted = errors.New("requests unaccounted for")
)

// MinTrendSamples is the fewest samples in the second half of a run that
// the RSS trend is computed from.
const MinTrendSamples = 4

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted
// durations: the smallest value at least p% of them do not exceed. It is
// 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Latency summarises a set of latencies.
type Latency struct {
	N                        int
	Mean, P50, P90, P99, Max time.Duration
}

// LatencyOf summarises ds (in any order).
func LatencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{N: len(s), Mean: sum / time.Duration(len(s)), P50: Percentile(s, 50), P90: Percentile(s, 90),
		P99: Percentile(s, 99), Max: s[len(s)-1]}
}

// Trend is the least-squares line through RSS over time.
type Trend struct {
	Samples int
	// Window is the time the samples span.
	Window time.Duration
	// Slope is in bytes per second.
	Slope float64
	// Mean is the mean RSS in bytes.
	Mean float64
	// Growth is Slope × Window / Mean: the relative RSS growth the line
	// shows across the window.
	Growth float64
}

// RSSTrend fits a line to the RSS samples taken in the second half of the
// load phase, which ends at end: the first half holds warm-up (models
// loading, arenas growing), after which a host that does not leak stays
// level; after end the requests in flight drain and the load falls off.
func RSSTrend(samples []MemorySample, end time.Duration) (Trend, error) {
	var xs, ys []float64
	for _, s := range samples {
		if s.At >= end/2 && s.At <= end {
			xs = append(xs, s.At.Seconds())
			ys = append(ys, float64(s.RSS))
		}
	}
	if len(xs) < MinTrendSamples {
		return Trend{Samples: len(xs)}, fmt.Errorf("%w: %d in the second half, want %d", ErrTooFewSamples, len(xs), MinTrendSamples)
	}
	slope, mean := fitLine(xs, ys)
	window := xs[len(xs)-1] - xs[0]
	t := Trend{Samples: len(xs), Window: time.Duration(window * float64(time.Second)), Slope: slope, Mean: mean}
	if mean > 0 {
		t.Growth = slope * window / mean
	}
	return t, nil
}

// fitLine returns the least-squares slope of ys over xs and ys's mean.
func fitLine(xs, ys []float64) (slope, meanY float64) {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	n := float64(len(xs))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0, my
	}
	return sxy / sxx, my
}

// Summary is what a report says about a run.
type Summary struct {
	Transport   string
	Concurrency int
	Docs        int
	Elapsed     time.Duration
	Sent        int
	// Outcomes counts the requests by outcome label.
	Outcomes map[string]int
	// Examples holds the first error message of each label but OutcomeOK.
	Examples map[string]string
	// Throughput is requests completed (any outcome) per second; OKRate
	// only those answered with a result.
	Throughput, OKRate float64
	// Latency is over the results, AllLatency over every answer, failures
	// included (not over unanswered requests).
	Latency, AllLatency Latency
	// Memory.
	Samples                    int
	MemoryErrors               int
	MemoryErrorMsg             string
	RSSFirst, RSSPeak, RSSLast uint64
	Limit                      uint64
	Trend                      Trend
	TrendErr                   error
	MaxGrowth                  float64
}

// Summarize computes the summary of res; maxGrowth is the RSS growth
// over the second half (Trend.Growth) that Check tolerates as noise.
func Summarize(res *Result, maxGrowth float64) Summary {
	s := Summary{Transport: res.Transport, Concurrency: res.Concurrency, Docs: res.Docs, Elapsed: res.Elapsed,
		Sent: res.Sent, Outcomes: map[string]int{}, Examples: map[string]string{}, MaxGrowth: maxGrowth,
		Samples: len(res.Memory), MemoryErrors: res.MemoryErrors, MemoryErrorMsg: res.MemoryErrorMsg}
	var ok, answered []time.Duration
	for _, r := range res.Records {
		s.Outcomes[r.Outcome]++
		if _, seen := s.Examples[r.Outcome]; !seen && r.Outcome != OutcomeOK {
			s.Examples[r.Outcome] = r.Err
		}
		if r.Outcome == OutcomeOK {
			ok = append(ok, r.Latency)
		}
		if !unanswered(r.Outcome) {
			answered = append(answered, r.Latency)
		}
	}
	s.Latency, s.AllLatency = LatencyOf(ok), LatencyOf(answered)
	if secs := res.Elapsed.Seconds(); secs > 0 {
		s.Throughput, s.OKRate = float64(s.Sent)/secs, float64(len(ok))/secs
	}
	for i, m := range res.Memory {
		if i == 0 {
			s.RSSFirst = m.RSS
		}
		s.RSSPeak = max(s.RSSPeak, m.RSS)
		s.RSSLast = m.RSS
		s.Limit = max(s.Limit, m.Limit)
	}
	// The load phase ends with the last request sent.
	end := res.Elapsed
	if n := len(res.Records); n > 0 {
		end = slices.MaxFunc(res.Records, func(a, b Record) int { return cmp.Compare(a.Start, b.Start) }).Start
	}
	s.Trend, s.TrendErr = RSSTrend(res.Memory, end)
	return s
}

func unanswered(outcome string) bool {
	return outcome == OutcomeTimeout || outcome == OutcomeTransport || outcome == OutcomeCancelled
}

// Unanswered counts requests without an answer.
func (s Summary) Unanswered() int {
	n := 0
	for o, c := range s.Outcomes {
		if unanswered(o) {
			n += c
		}
	}
	return n
}

// Failed counts requests answered with a failure.
func (s Summary) Failed() int {
	return s.Sent - s.Outcomes[OutcomeOK] - s.Unanswered()
}

// Check is the soak verdict: every request answered with a result, and,
// when memory was sampled, RSS not growing beyond MaxGrowth over the
// second half. The errors are joined.
func (s Summary) Check() error {
	var errs []error
	total := 0
	for _, c := range s.Outcomes {
		total += c
	}
	if total != s.Sent {
		errs = append(errs, fmt.Errorf("%w: %d sent, %d recorded", ErrUnaccounted, s.Sent, total))
	}
	if n := s.Unanswered(); n > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d", ErrUnanswered, n, s.Sent))
	}
	if n := s.Failed(); n > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d answered with a failure", ErrFailed, n, s.Sent))
	}
	switch {
	case s.Samples == 0 && s.MemoryErrors == 0:
		// Memory not sampled: nothing to judge.
	case s.TrendErr != nil:
		errs = append(errs, s.TrendErr)
	case s.Trend.Growth > s.MaxGrowth:
		errs = append(errs, fmt.Errorf("%w: %+.1f%% over the second half (%s), tolerance %.1f%%",
			ErrRSSGrowth, 100*s.Trend.Growth, s.Trend.Window.Round(time.Second), 100*s.MaxGrowth))
	}
	return errors.Join(errs...)
}
