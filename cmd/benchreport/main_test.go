package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/internal/benchreport"
)

func TestRun(t *testing.T) {
	t.Setenv("OCRHOST_ORT_LIB", "") // the version is not what this tests
	// Inputs that make no chart: rendering PNGs is slow under -race and
	// the package's own tests cover it.
	failed := filepath.Join(t.TempDir(), "failed.json")
	const out = `{"Action":"start","Package":"github.com/ocrhost/ocrhost/cmd/host"}
{"Action":"run","Package":"github.com/ocrhost/ocrhost/cmd/host","Test":"BenchmarkFailover"}
{"Action":"output","Package":"github.com/ocrhost/ocrhost/cmd/host","Test":"BenchmarkFailover","Output":"    x_test.go:1: no cluster\n"}
{"Action":"fail","Package":"github.com/ocrhost/ocrhost/cmd/host","Test":"BenchmarkFailover"}
{"Action":"fail","Package":"github.com/ocrhost/ocrhost/cmd/host"}
`
	if err := os.WriteFile(failed, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join("..", "..", "internal", "benchreport", "testdata", "start_to_ready.json")
	for _, c := range []struct {
		in     string
		status int
		failed bool
	}{
		{ready, 0, false},
		// go test failed but its output shows nothing that did.
		{ready, 2, true},
		{failed, 1, true},
	} {
		out := t.TempDir()
		err := run(c.in, out, times{start: 1700000000, end: 1700000090, loadStart: "1.5 1.0 0.5 1/2 3", loadEnd: "2.5 2.0 1.5 1/2 3"}, "go test", c.status)
		if failed := errors.Is(err, benchreport.ErrFailed); failed != c.failed || err != nil && !failed {
			t.Errorf("%s, status %d: %v", c.in, c.status, err)
		}
		md, err := os.ReadFile(filepath.Join(out, benchreport.ReportFile))
		if err != nil {
			t.Fatalf("%s: no report: %v", c.in, err)
		}
		for _, want := range []string{"| started | 2023-11-14 22:13:20 UTC |", "| finished | 2023-11-14 22:14:50 UTC (1m30s) |",
			"start 1.5 1.0 0.5; end 2.5 2.0 1.5 |", "BenchmarkStartToReady"} {
			if c.in == ready && !strings.Contains(string(md), want) {
				t.Errorf("%s: report lacks %q", c.in, want)
			}
		}
		if c.failed != strings.Contains(string(md), "## Failures") {
			t.Errorf("%s, status %d: failures section present = %v", c.in, c.status, !c.failed)
		}
	}
	if err := run("no such file", t.TempDir(), times{}, "", 0); err == nil || errors.Is(err, benchreport.ErrFailed) {
		t.Errorf("missing input: %v", err)
	}
}
