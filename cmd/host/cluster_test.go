package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// clusterAckWait is the hosts' ack wait in the cluster tests: a killed
// host's job comes back this long after its last progress signal.
const clusterAckWait = 2 * time.Second

// clusterJobSubject is the subject the cluster tests queue jobs on.
const clusterJobSubject = "ocr.jobs.cluster"

// natsCluster is a JetStream cluster of embedded NATS servers, each with
// its own client and route ports and its own store folder.
type natsCluster struct {
	t    testing.TB
	opts []*server.Options
	srvs []*server.Server // nil while stopped
}

// startCluster starts n routed servers and waits until JetStream has a
// meta leader that every server follows.
func startCluster(t testing.TB, n int) *natsCluster {
	t.Helper()
	c := &natsCluster{t: t, opts: make([]*server.Options, n), srvs: make([]*server.Server, n)}
	routes := make([]string, n)
	clusterPorts := make([]int, n)
	for i := range n {
		clusterPorts[i] = freePort(t)
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", clusterPorts[i])
	}
	for i := range n {
		c.opts[i] = &server.Options{
			ServerName: fmt.Sprintf("ocr-%d", i),
			Host:       "127.0.0.1",
			Port:       freePort(t),
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    server.ClusterOpts{Name: "ocrhost-test", Host: "127.0.0.1", Port: clusterPorts[i]},
			Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
			NoSigs:     true,
			NoLog:      true,
		}
	}
	t.Cleanup(func() {
		for i := range c.srvs {
			c.stop(i)
		}
	})
	for i := range n {
		c.start(i)
	}
	c.waitJetStream()
	return c
}

// start (re)starts server i on its ports and store.
func (c *natsCluster) start(i int) {
	c.t.Helper()
	opts := *c.opts[i]
	s, err := server.NewServer(&opts)
	if err != nil {
		c.t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		c.t.Fatalf("NATS server %d not ready", i)
	}
	c.srvs[i] = s
}

// stop shuts server i down, as a lost node.
func (c *natsCluster) stop(i int) {
	if s := c.srvs[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.srvs[i] = nil
	}
}

// waitJetStream waits until one running server leads JetStream's meta
// group and every running server is current with it.
func (c *natsCluster) waitJetStream() {
	c.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		leader, current := false, true
		for _, s := range c.srvs {
			if s != nil {
				leader = leader || s.JetStreamIsLeader()
				current = current && s.JetStreamIsCurrent()
			}
		}
		if leader && current {
			return
		}
	}
	c.t.Fatal("JetStream cluster formed no meta leader in 20 s")
}

// urls lists every server's client URL, comma-separated as nats.Connect
// takes them, server first first.
func (c *natsCluster) urls(first int) string {
	var urls []string
	for k := range c.opts {
		i := (first + k) % len(c.opts)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port))
	}
	return strings.Join(urls, ",")
}

// hostConns counts the hosts' connections to server i.
func (c *natsCluster) hostConns(i int) int {
	c.t.Helper()
	z, err := c.srvs[i].Connz(&server.ConnzOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	n := 0
	for _, ci := range z.Conns {
		if ci.Name == "ocrhost" {
			n++
		}
	}
	return n
}

// connect connects a client to the cluster, server first first, and keeps
// it reconnecting to whichever server is up.
func (c *natsCluster) connect(first int) (*nats.Conn, jetstream.JetStream) {
	c.t.Helper()
	nc, err := nats.Connect(c.urls(first), nats.DontRandomize(), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	return nc, js
}

// lockedBuffer collects a host's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hostProc is a host running as a process: this test binary re-executed.
type hostProc struct {
	cmd  *exec.Cmd
	url  string // HTTP
	logs *lockedBuffer
	// exited is closed once the process is gone; err is then its exit.
	exited chan error
	err    error
}

// startHosts starts n host processes on the cluster at natsURLs, each
// running one job at a time, and waits until all are ready. The first
// starts alone: hosts that start together on a fresh cluster race to
// create the streams, and JetStream may leave such creates unanswered until
// they are repeated, seconds later, which makes a slow start.
func startHosts(t testing.TB, natsURLs string, n int) []*hostProc {
	t.Helper()
	testenv.Models(t) // skips without assets
	hosts := make([]*hostProc, n)
	t.Cleanup(func() {
		stopHosts(t, hosts)
		if t.Failed() {
			for i, h := range hosts {
				if h != nil {
					t.Logf("host %d log:\n%s", i, tail(h.logs.String(), 4000))
				}
			}
		}
	})
	start := func(i int) {
		port := freePort(t)
		h := &hostProc{url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &lockedBuffer{}, exited: make(chan error)}
		h.cmd = exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
		h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
		h.cmd.Env = append(os.Environ(), "OCRHOST_TEST_RUN_MAIN=1", "OCRHOST_TEST_ARGS=serve",
			"OCRHOST_NATS_URL="+natsURLs, "OCRHOST_JS_REPLICAS=3",
			"OCRHOST_JS_ACK_WAIT="+clusterAckWait.String(), "OCRHOST_MAX_PREDICTIONS=1",
			fmt.Sprintf("OCRHOST_HTTP_ADDR=127.0.0.1:%d", port), "OCRHOST_LOG_LEVEL=info")
		if err := h.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			h.err = h.cmd.Wait()
			close(h.exited)
		}()
		hosts[i] = h
	}
	start(0)
	waitReady(t, hosts[0].url, hosts[0].exited)
	for i := 1; i < n; i++ {
		start(i)
	}
	for _, h := range hosts[1:] {
		waitReady(t, h.url, h.exited)
	}
	return hosts
}

// stopHosts asks the hosts still running to drain (SIGTERM) and waits
// until they exit, killing those that linger.
func stopHosts(t testing.TB, hosts []*hostProc) {
	for _, h := range hosts {
		if h != nil && !h.gone() {
			_ = h.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, h := range hosts {
		if h == nil {
			continue
		}
		select {
		case <-h.exited:
		case <-time.After(20 * time.Second):
			_ = h.cmd.Process.Kill()
			<-h.exited
			t.Errorf("host did not exit on SIGTERM:\n%s", tail(h.logs.String(), 4000))
		}
	}
}

func (h *hostProc) gone() bool {
	select {
	case <-h.exited:
		return true
	default:
		return false
	}
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string { return s[max(0, len(s)-n):] }

// kill SIGKILLs the host: no drain, its jobs are left unacked.
func (h *hostProc) kill(t testing.TB) {
	t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-h.exited
	if h.err == nil || !strings.Contains(h.err.Error(), "killed") {
		t.Fatalf("host exit %v, want killed", h.err)
	}
}

// labelPNG renders text in 28 pt on a small light image: a job that runs
// the whole pipeline in a fraction of the sample's time.
func labelPNG(t testing.TB, text string) []byte {
	t.Helper()
	face := testenv.GoFace(t, 28)
	defer face.Close()
	img := image.NewRGBA(image.Rect(0, 0, 40+font.MeasureString(face, text).Ceil(), 56))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{250, 248, 240, 255}), image.Point{}, draw.Src)
	d := &font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{20, 20, 40, 255}), Face: face, Dot: fixed.P(20, 38)}
	d.DrawString(text)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// clusterJob is a document to queue and a word its text must hold.
type clusterJob struct {
	doc         []byte
	contentType string
	want        string
}

// labelWords are words the recogniser reads back without confusing
// look-alike glyphs (1 and l, 0 and O).
var labelWords = strings.Fields("Harbor Meadow Granite Copper Orange Marker Sunset Window Garden Pepper Rocket Dragon " +
	"Ember Forest Cactus Nugget Parrot Quartz Raven Stone Tiger Zebra Anchor Mirror")

// clusterJobs are n jobs: the sample page first (the slowest), then
// labels of one word each.
func clusterJobs(t testing.TB, n int) []clusterJob {
	jobs := []clusterJob{{sampleDoc(t), "image/tiff", "quick"}}
	for i := 0; len(jobs) < n; i++ {
		word := labelWords[i%len(labelWords)]
		jobs = append(jobs, clusterJob{labelPNG(t, word), "image/png", word})
	}
	return jobs
}

// answer is one final answer event seen on the result subject.
type answer struct {
	typ  string
	text string
	at   time.Time
}

// answerLog records the final answers on the result subject by task id,
// as a client sees them.
type answerLog struct {
	mu   sync.Mutex
	byID map[string][]answer
}

func watchAnswers(t testing.TB, nc *nats.Conn) *answerLog {
	t.Helper()
	l := &answerLog{byID: map[string][]answer{}}
	sub, err := nc.Subscribe(events.DefaultResultSubject, func(m *nats.Msg) {
		typ := m.Header.Get("ce-type")
		if typ == events.TypeProgress {
			return
		}
		var resp host.Response
		_ = json.Unmarshal(m.Data, &resp)
		l.mu.Lock()
		defer l.mu.Unlock()
		id := m.Header.Get("ce-requestid")
		l.byID[id] = append(l.byID[id], answer{typ: typ, text: resp.Text, at: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *answerLog) get(id string) []answer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.byID[id])
}

// wait waits until every id has an answer.
func (l *answerLog) wait(t testing.TB, ids []string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !slices.ContainsFunc(ids, func(id string) bool { return len(l.get(id)) == 0 }) {
			return
		}
	}
	var missing []string
	for _, id := range ids {
		if len(l.get(id)) == 0 {
			missing = append(missing, id)
		}
	}
	t.Fatalf("no answer in %v for %d of %d jobs: %v", timeout, len(missing), len(ids), missing)
}

// submit queues the jobs and returns their task ids in order.
func submit(ctx context.Context, t testing.TB, js jetstream.JetStream, jobs []clusterJob) []string {
	t.Helper()
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		id, err := events.NewClient(js.Conn(), events.WithJetStream(js)).Submit(ctx, clusterJobSubject, events.Document{Data: j.doc, ContentType: j.contentType})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// waitDrained waits until the work queue holds no job and the consumer
// none delivered and unacked: no answer can follow.
func waitDrained(ctx context.Context, t testing.TB, js jetstream.JetStream) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(3 * clusterAckWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		si, err := js.Stream(ctx, jobs.DefaultStream)
		if err != nil {
			last = err.Error()
			continue
		}
		ci, err := si.Consumer(ctx, jobs.DefaultConsumer)
		if err != nil {
			last = err.Error()
			continue
		}
		info := ci.CachedInfo()
		if si.CachedInfo().State.Msgs == 0 && info.NumAckPending == 0 && info.NumPending == 0 {
			return
		}
		last = fmt.Sprintf("%d jobs in the stream, %d unacked", si.CachedInfo().State.Msgs, info.NumAckPending)
	}
	t.Fatalf("work queue not drained: %s", last)
}

// checkOnce asserts that each job got exactly one answer, a result holding
// its word, and that its task completed; it returns the tasks.
func checkOnce(ctx context.Context, t testing.TB, js jetstream.JetStream, l *answerLog, ids []string, queued []clusterJob) []jobs.Task {
	t.Helper()
	store, err := jobs.OpenTaskStore(ctx, js, jobs.WithReplicas(3))
	if err != nil {
		t.Fatal(err)
	}
	tasks := make([]jobs.Task, len(ids))
	for i, id := range ids {
		got := l.get(id)
		if len(got) != 1 {
			t.Errorf("job %d (%s): %d answers, want exactly 1: %+v", i, id, len(got), got)
		}
		if len(got) > 0 && (got[0].typ != events.TypeResult || !strings.Contains(strings.ReplaceAll(got[0].text, " ", ""), queued[i].want)) {
			t.Errorf("job %d: answer %s %q, want a result holding %q", i, got[0].typ, got[0].text, queued[i].want)
		}
		if tasks[i], err = store.Get(ctx, id); err != nil {
			t.Errorf("job %d: task: %v", i, err)
		} else if tasks[i].State != jobs.TaskCompleted {
			t.Errorf("job %d: task %s, want completed", i, tasks[i].State)
		}
	}
	return tasks
}

// waitProcessing waits until n of the tasks are processing.
func waitProcessing(ctx context.Context, t testing.TB, js jetstream.JetStream, ids []string, n int) {
	t.Helper()
	store, err := jobs.OpenTaskStore(ctx, js, jobs.WithReplicas(3))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		running := 0
		for _, id := range ids {
			if task, err := store.Get(ctx, id); err == nil && task.State == jobs.TaskProcessing {
				running++
			}
		}
		if running >= n {
			return
		}
	}
	t.Fatalf("fewer than %d jobs processing after 30 s", n)
}

// TestClusterHostKilled kills a host holding a job in a 3-server cluster
// with replicated streams and buckets: its job comes back to the other
// host once the ack wait ends, and every job is answered exactly once.
func TestClusterHostKilled(t *testing.T) {
	testenv.Models(t)
	c := startCluster(t, 3)
	hosts := startHosts(t, c.urls(0), 2)
	nc, js := c.connect(1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	answers := watchAnswers(t, nc)

	queued := clusterJobs(t, 4)
	ids := submit(ctx, t, js, queued)
	// Each host runs one job at a time, so with two processing each holds
	// one; both are first jobs, loading the models, so neither is near done.
	waitProcessing(ctx, t, js, ids, 2)
	killed := time.Now()
	hosts[0].kill(t)

	answers.wait(t, ids, time.Minute)
	waitDrained(ctx, t, js)
	tasks := checkOnce(ctx, t, js, answers, ids, queued)
	rerun := 0
	for i, task := range tasks {
		if task.Attempts > 1 {
			rerun++
			if at := answers.get(ids[i]); len(at) > 0 && at[0].at.Sub(killed) < clusterAckWait {
				t.Errorf("job %d answered %v after the kill, before the ack wait ended", i, at[0].at.Sub(killed))
			}
		}
	}
	if rerun != 1 {
		t.Errorf("%d jobs ran twice, want the killed host's one", rerun)
	}

	// Every stream and bucket the host made keeps three copies.
	for _, name := range []string{jobs.DefaultStream, jobs.DefaultDeadLetterStream,
		"KV_" + jobs.DefaultTaskBucket, "OBJ_" + jobs.DefaultResultBucket, "OBJ_" + jobs.DefaultPayloadBucket} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Errorf("stream %s: %v", name, err)
			continue
		}
		if got := s.CachedInfo().Config.Replicas; got != 3 {
			t.Errorf("stream %s: %d replicas, want 3", name, got)
		}
	}
}

// TestClusterServerLost shuts down, mid-work, the NATS server that the
// submitting client and at least one host are connected to: they reconnect
// to the others, JetStream elects new leaders from the replicas, and every
// accepted job, queued before or during the outage, is answered exactly
// once. The server then rejoins and catches up.
func TestClusterServerLost(t *testing.T) {
	testenv.Models(t)
	c := startCluster(t, 3)
	hosts := startHosts(t, c.urls(0), 2)
	// Two hosts over three servers: one server has a host at least.
	lost := 0
	for i := range c.srvs {
		if c.hostConns(i) > c.hostConns(lost) {
			lost = i
		}
	}
	watchNC, _ := c.connect(lost + 1)
	nc, js := c.connect(lost)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	answers := watchAnswers(t, watchNC)

	// Labels only: the outage, not the OCR, is under test.
	queued := clusterJobs(t, 6)[1:]
	ids := submit(ctx, t, js, queued[:3])
	waitProcessing(ctx, t, js, ids, 1)
	c.stop(lost)
	// Jobs queued during the outage count once Submit accepts them.
	for _, j := range queued[3:] {
		for {
			// A request that reached no JetStream leader goes unanswered:
			// ask again, as a client would.
			attempt, cancelAttempt := context.WithTimeout(ctx, 5*time.Second)
			id, err := events.NewClient(js.Conn(), events.WithJetStream(js)).Submit(attempt, clusterJobSubject, events.Document{Data: j.doc, ContentType: j.contentType})
			cancelAttempt()
			if err == nil {
				ids = append(ids, id)
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("job not accepted during the outage: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	answers.wait(t, ids, time.Minute)
	waitDrained(ctx, t, js)
	checkOnce(ctx, t, js, answers, ids, queued)
	if nc.Stats().Reconnects == 0 || nc.ConnectedUrl() == fmt.Sprintf("nats://127.0.0.1:%d", c.opts[lost].Port) {
		t.Errorf("client on the lost server did not reconnect elsewhere (%d reconnects, at %s)", nc.Stats().Reconnects, nc.ConnectedUrl())
	}
	if !slices.ContainsFunc(hosts, func(h *hostProc) bool { return strings.Contains(h.logs.String(), "NATS reconnected") }) {
		t.Error("no host reconnected, though one was on the lost server")
	}

	c.start(lost)
	name := c.opts[lost].ServerName
	var peers string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		s, err := js.Stream(ctx, jobs.DefaultStream)
		if err == nil {
			cl := s.CachedInfo().Cluster
			if cl.Leader == name || slices.ContainsFunc(cl.Replicas, func(p *jetstream.PeerInfo) bool { return p.Name == name && p.Current }) {
				break
			}
			peers = fmt.Sprintf("leader %s, replicas %+v", cl.Leader, cl.Replicas)
		} else {
			peers = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s did not rejoin the stream's replicas: %s", name, peers)
		}
	}
}

func TestJSReplicasConfig(t *testing.T) {
	c, err := loadConfig()
	if err != nil || c.JSReplicas != 1 {
		t.Fatalf("default: %v, %d replicas, want 1 (a single server takes no more)", err, c.JSReplicas)
	}
	for _, v := range []string{"0", "6"} {
		t.Setenv("OCRHOST_JS_REPLICAS", v)
		if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "OCRHOST_JS_REPLICAS") {
			t.Errorf("OCRHOST_JS_REPLICAS=%s: %v, want an error naming it", v, err)
		}
	}
	t.Setenv("OCRHOST_JS_REPLICAS", "3")
	if c, err := loadConfig(); err != nil || c.JSReplicas != 3 {
		t.Errorf("OCRHOST_JS_REPLICAS=3: %v, %d", err, c.JSReplicas)
	}
}
