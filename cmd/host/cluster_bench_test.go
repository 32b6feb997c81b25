package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// scaleJobs is the job set of BenchmarkScaleOut: three sample pages and
// nine labels.
func scaleJobs(b *testing.B) []clusterJob {
	jobs := clusterJobs(b, 10)
	for range 2 {
		jobs = append(jobs, jobs[0])
	}
	return jobs
}

// runJobs queues the jobs at once and waits for every answer.
func runJobs(ctx context.Context, b *testing.B, js jetstream.JetStream, answers *answerLog, jobs []clusterJob) {
	b.Helper()
	answers.wait(b, submit(ctx, b, js, jobs), 5*time.Minute)
}

// BenchmarkScaleOut measures sustained throughput of the JetStream work
// queue of a 3-server cluster with 1, 2 and 3 host processes, each running
// one job at a time with its default threads, on the same job set. The
// hosts are warm: each has loaded its models on a sample page first. All
// hosts share this machine's cores, so the ratios show what more hosts
// add on one machine, not across machines.
func BenchmarkScaleOut(b *testing.B) {
	testenv.Models(b)
	c := startCluster(b, 3)
	nc, js := c.connect(0)
	answers := watchAnswers(b, nc)
	ctx := context.Background()
	jobs := scaleJobs(b)
	rate := map[int]float64{}
	b.ResetTimer()
	for range b.N {
		for _, n := range []int{1, 2, 3} {
			b.StopTimer()
			hosts := startHosts(b, c.urls(0), n)
			// The first job of each host loads its models for seconds, so n
			// at once reach n hosts.
			warm := make([]clusterJob, n)
			for i := range warm {
				warm[i] = jobs[0]
			}
			runJobs(ctx, b, js, answers, warm)
			b.StartTimer()
			t0 := time.Now()
			runJobs(ctx, b, js, answers, jobs)
			rate[n] += float64(len(jobs)) / time.Since(t0).Seconds()
			b.StopTimer()
			stopHosts(b, hosts)
			b.StartTimer()
		}
	}
	for _, n := range []int{1, 2, 3} {
		b.ReportMetric(rate[n]/float64(b.N), fmt.Sprintf("jobs/s_%d_hosts", n))
	}
	b.ReportMetric(rate[2]/rate[1], "x2_hosts_ratio")
	b.ReportMetric(rate[3]/rate[1], "x3_hosts_ratio")
	b.ReportMetric(0, "ns/op")
}

// leasesInUse reads the model leases a host has in use from its metrics:
// more than 0 while it runs a job.
func leasesInUse(url string) (int, error) {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "ocrhost_pool_leases_in_use") {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				return 0, fmt.Errorf("metric line %q: %w", line, err)
			}
			n += int(v)
		}
	}
	return n, sc.Err()
}

// BenchmarkFailover measures, with two warm hosts on a 3-server cluster,
// the time from SIGKILL of the host running a job to that job's answer
// from the other host (failover-s), and to the other host taking the job
// up (takeover-s). The job comes back once its ack wait (2 s here) has
// passed since the dead host's last progress signal, sent every half ack
// wait: takeover lies between AckWait/2 and AckWait; failover adds the
// run.
func BenchmarkFailover(b *testing.B) {
	testenv.Models(b)
	c := startCluster(b, 3)
	nc, js := c.connect(0)
	answers := watchAnswers(b, nc)
	ctx := context.Background()
	store, err := jobs.OpenTaskStore(ctx, js, jobs.WithReplicas(3))
	if err != nil {
		b.Fatal(err)
	}
	queued := clusterJobs(b, 1)
	var failover, takeover time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		hosts := startHosts(b, c.urls(0), 2)
		runJobs(ctx, b, js, answers, []clusterJob{queued[0], queued[0]})
		ids := submit(ctx, b, js, queued)
		var holder *hostProc
		for deadline := time.Now().Add(30 * time.Second); holder == nil; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("no host took the job in 30 s")
			}
			for _, h := range hosts {
				if n, err := leasesInUse(h.url); err == nil && n > 0 {
					holder = h
				}
			}
		}
		b.StartTimer()
		holder.kill(b)
		killed := time.Now()
		answers.wait(b, ids, time.Minute)
		b.StopTimer()
		failover += answers.get(ids[0])[0].at.Sub(killed)
		task, err := store.Get(ctx, ids[0])
		if err != nil {
			b.Fatal(err)
		}
		var taken time.Time
		for _, tr := range task.History {
			if tr.State == jobs.TaskProcessing {
				taken = tr.At
			}
		}
		if task.Attempts != 2 {
			b.Fatalf("job ran %d times, want 2 (the killed host's run and the other's)", task.Attempts)
		}
		takeover += taken.Sub(killed)
		stopHosts(b, hosts)
		b.StartTimer()
	}
	b.ReportMetric(failover.Seconds()/float64(b.N), "failover-s")
	b.ReportMetric(takeover.Seconds()/float64(b.N), "takeover-s")
	b.ReportMetric(clusterAckWait.Seconds(), "ack-wait-s")
	b.ReportMetric(0, "ns/op")
}
