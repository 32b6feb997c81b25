package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkWarmOverhead compares end-to-end NATS request-reply latency with
// the in-process function on the same image (target ≤ 1.05 at the median),
// and the cold first request with warm ones. Each iteration is one request
// of each kind, alternated so machine noise hits both alike.
func BenchmarkWarmOverhead(b *testing.B) {
	th := startServe(b, map[string]string{"OCRHOST_MAX_PREDICTIONS": "1"})
	doc := sampleDoc(b)
	nc, err := nats.Connect(th.natsURL)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	t0 := time.Now()
	if _, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc}); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(t0)

	// The in-process side: the same models, options and thread count as the
	// host (MAX_PREDICTIONS=1: all CPUs for one invocation).
	models := testenv.LoadAll(b)
	opts := function.DefaultOptions()
	var e2e, local []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := events.NewClient(nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc}); err != nil {
			b.Fatal(err)
		}
		e2e = append(e2e, time.Since(t0))
		t0 = time.Now()
		img, _, err := imageio.Decode(doc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := function.Run(ctx, models, img, opts); err != nil {
			b.Fatal(err)
		}
		local = append(local, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(float64(median(e2e))/float64(median(local)), "e2e/in-process")
	b.ReportMetric(median(e2e).Seconds()*1000, "e2e-ms")
	b.ReportMetric(median(local).Seconds()*1000, "in-process-ms")
	b.ReportMetric(cold.Seconds()*1000, "cold-first-ms")
	b.ReportMetric(float64(cold)/float64(median(e2e)), "cold/warm")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkStartToReady measures process start (this test binary re-executed
// as the host) to the first 200 from /readyz.
func BenchmarkStartToReady(b *testing.B) {
	testenv.Models(b)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		natsPort, httpPort := freePort(b), freePort(b)
		cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
		cmd.Env = append(os.Environ(), "OCRHOST_TEST_RUN_MAIN=1", "OCRHOST_TEST_ARGS=serve", "OCRHOST_LOG_LEVEL=error",
			fmt.Sprintf("OCRHOST_EMBEDDED_NATS_PORT=%d", natsPort), fmt.Sprintf("OCRHOST_HTTP_ADDR=127.0.0.1:%d", httpPort))
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)
		for {
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(t0) > 30*time.Second {
				cmd.Process.Kill()
				b.Fatal("not ready in 30 s")
			}
			time.Sleep(2 * time.Millisecond)
		}
		total += time.Since(t0)
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	b.ReportMetric(total.Seconds()*1000/float64(b.N), "start-to-ready-ms")
	b.ReportMetric(0, "ns/op")
}
