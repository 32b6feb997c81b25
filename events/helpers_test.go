package events

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/host"
)

// fakeHost stands in for the host: it records requests and answers with a
// canned response or failure, or blocks until released or cancelled, when
// it answers busy as the host does.
type fakeHost struct {
	fail    *host.Failure
	started chan *host.Request

	mu      sync.Mutex
	got     []*host.Request
	release chan struct{} // nil: answer at once
}

func newFakeHost() *fakeHost { return &fakeHost{started: make(chan *host.Request, 64)} }

func (f *fakeHost) Invoke(ctx context.Context, req *host.Request) (*host.Response, error) {
	f.mu.Lock()
	f.got = append(f.got, req)
	wait := f.release
	f.mu.Unlock()
	f.started <- req
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, host.Fail(host.CodeBusy, context.Cause(ctx))
		}
	}
	if f.fail != nil {
		return nil, f.fail
	}
	r := eventstest.CannedResponse()
	r.ID = req.ID
	return r, nil
}

// block makes Invoke wait until the returned func is called or the test
// ends. Call it after starting the transport: cleanups run last-in first-out,
// and an unreleased invocation would hang the transport's teardown.
func (f *fakeHost) block(t *testing.T) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.release = ch
	f.mu.Unlock()
	release = sync.OnceFunc(func() { close(ch) })
	t.Cleanup(release)
	return release
}

func (f *fakeHost) requests() []*host.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*host.Request(nil), f.got...)
}

// waitStarted returns the next request the fake host received.
func (f *fakeHost) waitStarted(t *testing.T) *host.Request {
	t.Helper()
	select {
	case r := <-f.started:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("invoker was not called")
		return nil
	}
}

// natsPair starts an embedded NATS server and returns a connection for the
// transport and one for the client.
func natsPair(t *testing.T) (srv, cli *nats.Conn) {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	connect := func() *nats.Conn {
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	return connect(), connect()
}

// structuredBody is a valid structured-mode request with the document as
// data_base64.
func structuredBody(t *testing.T, id string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"specversion":     "1.0",
		"id":              id,
		"source":          "/test",
		"type":            TypeRequest,
		"subject":         "doc-" + id,
		"datacontenttype": "image/png",
		"data_base64":     eventstest.PNG,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
