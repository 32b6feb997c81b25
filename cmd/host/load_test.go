package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/internal/loadgen"
)

// loadInputs writes a tiny blank PNG (text detection finds nothing, so it
// is answered fast, by one model) and a truncated one (which the host
// rejects as invalid_input) and returns their paths.
func loadInputs(t *testing.T) (good, bad string) {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, 64, 32))
	for i := range m.Pix {
		m.Pix[i] = 0xff
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad = filepath.Join(dir, "good.png"), filepath.Join(dir, "truncated.png")
	if err := os.WriteFile(good, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, b.Bytes()[:b.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	return good, bad
}

const loadOptions = `{"det_limit_side_len":64,"det_limit_type":"max"}`

func TestLoadTransports(t *testing.T) {
	th := startServe(t, map[string]string{"OCRHOST_MAX_PREDICTIONS": "2"})
	good, bad := loadInputs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i, transport := range []string{"nats", "publish", "jetstream", "http"} {
		t.Run(transport, func(t *testing.T) {
			// 6 requests cycling over good, bad: 3 results, 3 invalid_input.
			// The options (sent in the JSON form) keep detection small.
			args := []string{"-transport", transport, "-nats", th.natsURL, "-http", th.httpURL, "-options", loadOptions,
				"-n", "6", "-c", "3", "-timeout", "1m", "-memory-every", "100ms", "-check"}
			out := t.TempDir()
			if i == 0 { // plotting under the race detector takes seconds: once is enough
				args = append(args, "-out", out)
			}
			var stdout bytes.Buffer
			sum, err := runLoad(ctx, append(args, good, bad), &stdout)
			if !errors.Is(err, errLoadCheck) || !errors.Is(err, loadgen.ErrFailed) || errors.Is(err, loadgen.ErrUnanswered) {
				t.Errorf("check: %v, want the 3 failures only", err)
			}
			if got := sum.Outcomes; sum.Sent != 6 || len(got) != 2 || got[loadgen.OutcomeOK] != 3 || got["invalid_input"] != 3 {
				t.Errorf("%d sent, outcomes %v; want ok 3, invalid_input 3", sum.Sent, got)
			}
			if sum.Latency.N != 3 || sum.Latency.P50 <= 0 || sum.Latency.Max < sum.Latency.P50 {
				t.Errorf("latency %+v", sum.Latency)
			}
			// At least the samples at the start and the end of the run.
			if sum.Samples < 2 || sum.MemoryErrors != 0 || sum.RSSPeak < 50<<20 || sum.Limit < sum.RSSPeak {
				t.Errorf("memory: %d samples (%d failed: %s), peak %d, limit %d", sum.Samples, sum.MemoryErrors,
					sum.MemoryErrorMsg, sum.RSSPeak, sum.Limit)
			}
			text := stdout.String()
			for _, want := range []string{"transport " + transport, "6 requests", "invalid_input", "p50", "host RSS"} {
				if !strings.Contains(text, want) {
					t.Errorf("stdout lacks %q:\n%s", want, text)
				}
			}
			if i != 0 {
				return
			}
			for _, name := range []string{loadgen.RSSPlot, loadgen.LatencyPlot} {
				f, err := os.Open(filepath.Join(out, name))
				if err != nil {
					t.Fatal(err)
				}
				_, err = png.Decode(f)
				f.Close()
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			for _, name := range []string{loadgen.ReportFile, loadgen.SamplesFile, loadgen.RequestsFile} {
				if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}

	t.Run("duration, good files only, check passes", func(t *testing.T) {
		var stdout bytes.Buffer
		sum, err := runLoad(ctx, []string{"-nats", th.natsURL, "-options", loadOptions, "-duration", "300ms", "-c", "2", "-memory-every", "0", "-check", good}, &stdout)
		if err != nil {
			t.Errorf("%v\n%s", err, stdout.String())
		}
		if sum.Samples != 0 || sum.Sent < 2 || sum.Outcomes[loadgen.OutcomeOK] != sum.Sent {
			t.Errorf("%+v", sum)
		}
	})

	t.Run("no host answering is unanswered, not lost", func(t *testing.T) {
		var stdout bytes.Buffer
		sum, err := runLoad(ctx, []string{"-nats", th.natsURL, "-subject", "nobody.listens", "-n", "3", "-c", "3",
			"-memory-every", "0", "-check", good}, &stdout)
		if !errors.Is(err, loadgen.ErrUnanswered) || sum.Outcomes[loadgen.OutcomeTransport] != 3 {
			t.Errorf("%v\n%s", err, stdout.String())
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{
			{"-transport", "carrier-pigeon", good},
			{"-options", "{", good},
			{"-n", "0", good},
			{},
		} {
			if _, err := runLoad(ctx, append([]string{"-nats", th.natsURL, "-memory-every", "0"}, args...), &bytes.Buffer{}); err == nil {
				t.Errorf("%q: no error", args)
			}
		}
	})
}
