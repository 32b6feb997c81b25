package loadgen

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/host"
)

func TestPercentile(t *testing.T) {
	ten := make([]time.Duration, 10)
	for i := range ten {
		ten[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, c := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ten[:1], 99, 1 * time.Millisecond},
		{ten, 50, 5 * time.Millisecond},
		{ten, 90, 9 * time.Millisecond},
		{ten, 91, 10 * time.Millisecond},
		{ten, 99, 10 * time.Millisecond},
		{ten, 100, 10 * time.Millisecond},
		{ten, 1, 1 * time.Millisecond},
		{ten, 0, 1 * time.Millisecond},
	} {
		if got := Percentile(c.in, c.p); got != c.want {
			t.Errorf("p%v of %d values = %v, want %v", c.p, len(c.in), got, c.want)
		}
	}
}

func TestLatencyOfUnsorted(t *testing.T) {
	ds := []time.Duration{40, 10, 30, 20, 100}
	l := LatencyOf(ds)
	if l.N != 5 || l.P50 != 30 || l.P90 != 100 || l.Max != 100 || l.Mean != 40 {
		t.Errorf("%+v", l)
	}
	if ds[0] != 40 {
		t.Error("LatencyOf sorted its argument in place")
	}
}

func TestClassify(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(live)
	cancel()
	for _, c := range []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{live, nil, OutcomeOK},
		{live, fmt.Errorf("wrapped: %w", &host.Failure{Code: host.CodeInvalidInput}), "invalid_input"},
		{cancelled, &host.Failure{Code: host.CodeBusy}, "busy"}, // an answer is an answer
		{live, fmt.Errorf("x: %w", context.DeadlineExceeded), OutcomeTimeout},
		{cancelled, context.Canceled, OutcomeCancelled},
		{live, nats.ErrNoResponders, OutcomeTransport},
	} {
		if got := Classify(c.ctx, c.err); got != c.want {
			t.Errorf("Classify(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// outcomeSender answers by document name, as a host would.
func outcomeSender(calls *atomic.Int64) Sender {
	return SenderFunc(func(ctx context.Context, doc Doc) error {
		calls.Add(1)
		switch doc.Name {
		case "bad":
			return &host.Failure{Code: host.CodeInvalidInput, Message: "not an image"}
		case "hang":
			<-ctx.Done()
			return ctx.Err()
		case "down":
			return nats.ErrNoResponders
		}
		time.Sleep(time.Millisecond)
		return nil
	})
}

func TestRunAccountsForEveryRequest(t *testing.T) {
	var calls atomic.Int64
	docs := []Doc{{Name: "good"}, {Name: "bad"}, {Name: "hang"}, {Name: "down"}}
	res, err := Run(context.Background(), outcomeSender(&calls), docs,
		WithRequests(10), WithConcurrency(3), WithTimeout(50*time.Millisecond), WithTransport("test"))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res, 0.05)
	// Cycling over 4 documents: seq 0..9 → good×3, bad×3, hang×2, down×2.
	want := map[string]int{OutcomeOK: 3, "invalid_input": 3, OutcomeTimeout: 2, OutcomeTransport: 2}
	if fmt.Sprint(s.Outcomes) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", s.Outcomes, want)
	}
	if s.Sent != 10 || len(res.Records) != 10 || calls.Load() != 10 {
		t.Errorf("sent %d, records %d, calls %d; want 10 each", s.Sent, len(res.Records), calls.Load())
	}
	seen := map[int]bool{}
	for _, r := range res.Records {
		if seen[r.Seq] {
			t.Errorf("seq %d recorded twice", r.Seq)
		}
		seen[r.Seq] = true
		if r.Outcome == OutcomeTimeout && r.Latency < 50*time.Millisecond {
			t.Errorf("timeout after %v", r.Latency)
		}
	}
	if s.Unanswered() != 4 || s.Failed() != 3 {
		t.Errorf("unanswered %d, failed %d", s.Unanswered(), s.Failed())
	}
	if s.Latency.N != 3 || s.AllLatency.N != 6 {
		t.Errorf("latency over %d results and %d answers, want 3 and 6", s.Latency.N, s.AllLatency.N)
	}
	err = s.Check()
	if !errors.Is(err, ErrUnanswered) || !errors.Is(err, ErrFailed) || errors.Is(err, ErrRSSGrowth) {
		t.Errorf("Check: %v", err)
	}
	if !strings.Contains(s.Examples["invalid_input"], "not an image") {
		t.Errorf("example %q", s.Examples["invalid_input"])
	}
}

func TestRunDurationAndCancel(t *testing.T) {
	var calls atomic.Int64
	start := time.Now()
	res, err := Run(context.Background(), outcomeSender(&calls), []Doc{{Name: "good"}},
		WithDuration(60*time.Millisecond), WithConcurrency(2), WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second || res.Sent < 4 || res.Sent != len(res.Records) {
		t.Errorf("duration run: %d sent, %d records in %v", res.Sent, len(res.Records), el)
	}
	if err := Summarize(res, 0.05).Check(); err != nil {
		t.Errorf("all answered, no memory sampled: %v", err)
	}

	// Interrupting the run cancels the requests waiting; each is recorded.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	res, err = Run(ctx, outcomeSender(&calls), []Doc{{Name: "hang"}}, WithRequests(100), WithConcurrency(3), WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s := Summarize(res, 0.05); s.Sent != 3 || s.Outcomes[OutcomeCancelled] != 3 {
		t.Errorf("cancelled run: %d sent, outcomes %v", s.Sent, s.Outcomes)
	}
}

func TestRunOptionsValidated(t *testing.T) {
	s := SenderFunc(func(context.Context, Doc) error { return nil })
	for _, opts := range [][]Option{
		{WithConcurrency(0), WithRequests(1)},
		{},
		{WithRequests(-1)},
		{WithRequests(1), WithTimeout(0)},
		{WithRequests(1), WithMemory(HTTPMemory{}, 0)},
	} {
		if _, err := Run(context.Background(), s, []Doc{{}}, opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%d options: %v", len(opts), err)
		}
	}
	if _, err := Run(context.Background(), s, nil, WithRequests(1)); !errors.Is(err, ErrNoDocs) {
		t.Errorf("no docs: %v", err)
	}
}

// rampSource reports RSS growing by step per call.
type rampSource struct {
	rss, step uint64
	calls     atomic.Int64
}

func (r *rampSource) Memory(context.Context) (MemorySample, error) {
	n := uint64(r.calls.Add(1))
	return MemorySample{RSS: r.rss + n*r.step, Limit: 2 * r.rss}, nil
}

func TestRunSamplesMemory(t *testing.T) {
	src := &rampSource{rss: 100 * mib}
	slow := SenderFunc(func(ctx context.Context, _ Doc) error { time.Sleep(5 * time.Millisecond); return nil })
	res, err := Run(context.Background(), slow, []Doc{{Name: "a"}}, WithRequests(20), WithMemory(src, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// 100 ms of work sampled every 10 ms, plus the first and last sample.
	if len(res.Memory) < 5 || res.MemoryErrors != 0 {
		t.Fatalf("%d samples, %d errors", len(res.Memory), res.MemoryErrors)
	}
	for i := 1; i < len(res.Memory); i++ {
		if res.Memory[i].At < res.Memory[i-1].At {
			t.Fatalf("samples out of order at %d", i)
		}
	}
	if last := res.Memory[len(res.Memory)-1].At; last < res.Elapsed-10*time.Millisecond {
		t.Errorf("last sample at %v, run ended at %v", last, res.Elapsed)
	}
}

func samplesAt(rss func(sec float64) float64, n int, every time.Duration) []MemorySample {
	out := make([]MemorySample, n)
	for i := range out {
		at := time.Duration(i) * every
		out[i] = MemorySample{At: at, RSS: uint64(rss(at.Seconds()))}
	}
	return out
}

func TestRSSTrend(t *testing.T) {
	const base = 1000 * mib
	elapsed := 100 * time.Second
	// Warm-up in the first half, then level with ±1% noise.
	level := samplesAt(func(s float64) float64 {
		if s < 50 {
			return base * s / 50
		}
		return base * (1 + 0.01*float64(int(s)%3-1))
	}, 101, time.Second)
	tr, err := RSSTrend(level, elapsed)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Samples != 51 || tr.Window != 50*time.Second || tr.Growth > 0.01 || tr.Growth < -0.01 {
		t.Errorf("level: %+v", tr)
	}
	// A leak of 1 MiB/s: 50 MiB over the second half, 4.65% of its mean (1075 MiB).
	leak := samplesAt(func(s float64) float64 { return base + s*mib }, 101, time.Second)
	tr, err = RSSTrend(leak, elapsed)
	if err != nil {
		t.Fatal(err)
	}
	if d := tr.Slope - mib; d > 1 || d < -1 {
		t.Errorf("slope %.0f B/s, want %d", tr.Slope, mib)
	}
	if want := 50.0 / 1075; tr.Growth < want-1e-6 || tr.Growth > want+1e-6 {
		t.Errorf("growth %.6f, want %.6f", tr.Growth, want)
	}
	s := Summary{Samples: 101, Trend: tr, MaxGrowth: 0.02}
	if err := s.Check(); !errors.Is(err, ErrRSSGrowth) {
		t.Errorf("leak not flagged: %v", err)
	}
	s.MaxGrowth = 0.05
	if err := s.Check(); err != nil {
		t.Errorf("within tolerance: %v", err)
	}
	if _, err := RSSTrend(leak[:6], 6*time.Second); !errors.Is(err, ErrTooFewSamples) {
		t.Errorf("3 samples in the second half: %v", err)
	}
}

func TestSummaryTrendIgnoresDrain(t *testing.T) {
	// Load for 10 s, level; then the requests in flight drain for 10 s
	// while RSS climbs (say, a final large page): not the steady state.
	res := &Result{Elapsed: 20 * time.Second, Sent: 2, Records: []Record{
		{Seq: 0, Outcome: OutcomeOK}, {Seq: 1, Start: 10 * time.Second, Outcome: OutcomeOK}}}
	res.Memory = samplesAt(func(s float64) float64 { return 500*mib + max(0, s-10)*50*mib }, 21, time.Second)
	s := Summarize(res, 0.05)
	if s.TrendErr != nil || s.Trend.Samples != 6 || s.Trend.Growth != 0 {
		t.Errorf("trend %+v, %v; want the 6 level samples of 5..10 s", s.Trend, s.TrendErr)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestCheckAccounting(t *testing.T) {
	s := Summary{Sent: 3, Outcomes: map[string]int{OutcomeOK: 2}}
	if err := s.Check(); !errors.Is(err, ErrUnaccounted) {
		t.Errorf("3 sent, 2 recorded: %v", err)
	}
	s = Summary{Sent: 2, Outcomes: map[string]int{OutcomeOK: 2}, MemoryErrors: 5}
	s.Trend, s.TrendErr = RSSTrend(nil, time.Minute)
	if err := s.Check(); !errors.Is(err, ErrTooFewSamples) {
		t.Errorf("memory asked for but never read: %v", err)
	}
}

func TestParseMemoryReport(t *testing.T) {
	m, err := parseMemoryReport([]byte(`{"memory":{"rss":123,"limit":456,"cgroup":null},"used":120,"level":"normal","models":[]}`))
	if err != nil || m.RSS != 123 || m.Limit != 456 || m.Used != 120 || m.Level != "normal" {
		t.Errorf("%+v %v", m, err)
	}
	for _, bad := range []string{`{"error":"probe failed"}`, `not json`, `{"memory":{}}`} {
		if _, err := parseMemoryReport([]byte(bad)); !errors.Is(err, ErrMemoryReport) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func answerMsg(id, typ, data string) *nats.Msg {
	m := nats.NewMsg("ocr.results")
	m.Header.Set("ce-type", typ)
	if id != "" {
		m.Header.Set("Ce-RequestID", id) // case differs from the host's
	}
	m.Data = []byte(data)
	return m
}

func TestAnswersRouting(t *testing.T) {
	a := newAnswers(time.Minute)
	ch := a.register("r1")
	a.onMsg(answerMsg("r1", events.TypeProgress, `{"pages_done":1}`))
	a.onMsg(answerMsg("", events.TypeResult, `{}`))
	select {
	case err := <-ch:
		t.Fatalf("answered by a progress event or a stray result: %v", err)
	default:
	}
	a.onMsg(answerMsg("r1", events.TypeFailure, `{"code":"too_large","message":"big"}`))
	if f, ok := errors.AsType[*host.Failure](<-ch); !ok || f.Code != host.CodeTooLarge {
		t.Errorf("failure not routed: %v", f)
	}
	// A job's answer may arrive before Submit returns its id.
	a.onMsg(answerMsg("r2", events.TypeResult, `{"text":"x"}`))
	if err := <-a.register("r2"); err != nil {
		t.Errorf("early answer: %v", err)
	}
	// Stale answers to nobody are dropped.
	a = newAnswers(10 * time.Millisecond)
	a.onMsg(answerMsg("stray", events.TypeResult, `{}`))
	time.Sleep(20 * time.Millisecond)
	a.onMsg(answerMsg("other", events.TypeResult, `{}`))
	if _, ok := a.early["stray"]; ok || len(a.early) != 1 {
		t.Errorf("early answers kept: %v", a.early)
	}
	if err := answerError("com.example.other", nil); !errors.Is(err, ErrUnexpectedAnswer) {
		t.Errorf("foreign event type: %v", err)
	}
}

func TestWriteDir(t *testing.T) {
	var calls atomic.Int64
	src := &rampSource{rss: 300 * mib, step: mib}
	res, err := Run(context.Background(), outcomeSender(&calls), []Doc{{Name: "good"}, {Name: "bad"}},
		WithRequests(8), WithConcurrency(2), WithMemory(src, 2*time.Millisecond), WithTransport("test"))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res, 0.05)
	dir := t.TempDir()
	if err := WriteDir(dir, res, s); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{RSSPlot, LatencyPlot} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
			t.Errorf("%s is %v", name, b)
		}
	}
	rows := readCSV(t, filepath.Join(dir, SamplesFile))
	if len(rows) != len(res.Memory)+1 || rows[0][1] != "rss_bytes" || rows[1][1] != fmt.Sprint(res.Memory[0].RSS) {
		t.Errorf("samples.csv: %d rows for %d samples: %v", len(rows), len(res.Memory), rows[:min(2, len(rows))])
	}
	rows = readCSV(t, filepath.Join(dir, RequestsFile))
	if len(rows) != 9 || rows[1][0] != "0" || rows[2][4] != "invalid_input" {
		t.Errorf("requests.csv: %v", rows)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| invalid_input | 4 |", "| ok | 4 |", "FAIL", RSSPlot} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"8 requests", "invalid_input", "p99", "RSS trend"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
