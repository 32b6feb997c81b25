package jobs

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
)

// cannedResponse is a plausible two-line result.
func cannedResponse() *host.Response {
	return &host.Response{
		Result: function.Result{
			Width:  640,
			Height: 480,
			Lines: []function.Line{
				{Text: "Hello", Confidence: 0.98, Box: function.Quad{{X: 10, Y: 20}, {X: 110, Y: 20}, {X: 110, Y: 50}, {X: 10, Y: 50}}},
				{Text: "world", Confidence: 0.91, Box: function.Quad{{X: 10, Y: 60}, {X: 110, Y: 60}, {X: 110, Y: 90}, {X: 10, Y: 90}}, Rotated: true},
			},
			Timings: function.Timings{Decode: 1500, DetInfer: 20_000_000, RecInfer: 8_000_000, Total: 35_000_000},
		},
		Models: map[string]string{"det": "ch_PP-OCRv4_det@0123abcd", "rec": "ch_PP-OCRv4_rec@4567ef01"},
		Device: "cpu",
	}
}

// pngDoc is a PNG signature plus filler; the script host never decodes it.
var pngDoc = []byte("\x89PNG\r\n\x1a\n0123456789")

// smallPayload is the embedded server's max payload in the tests of large
// documents: the 200 KB documents cannot travel in a message.
const smallPayload = 64 << 10

// bigDoc is a 200 KB PNG-signed document of random bytes.
func bigDoc() []byte {
	doc := make([]byte, 200_000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range doc {
		doc[i] = byte(r.UintN(256))
	}
	copy(doc, pngDoc)
	return doc
}

// submitJob queues doc as events.Client's Submit does, from the same
// parts (this package's tests cannot import events, which imports it).
func submitJob(ctx context.Context, js jetstream.JetStream, subject string, doc []byte, contentType string, options json.RawMessage, opts ...StoreOption) (string, error) {
	id := uuid.NewString()
	p, err := PreparePayload(ctx, js, js.Conn().MaxPayload(), id, doc, contentType, options, opts...)
	if err != nil {
		return "", err
	}
	e, err := wire.NewRequest(id, p.Data, p.ContentType, p.Options)
	if err != nil {
		return "", err
	}
	msg, err := wire.EncodeNATS(ctx, &e, false)
	if err != nil {
		return "", err
	}
	msg.Subject = subject
	return id, Queue(ctx, js, msg, id, opts...)
}

// failureOf decodes a failure answer.
func failureOf(t *testing.T, m *nats.Msg) wire.FailureData {
	t.Helper()
	e, _, err := wire.DecodeNATS(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type() != wire.TypeFailure {
		t.Fatalf("answer type %q, want failure: %s", e.Type(), e.Data())
	}
	var fd wire.FailureData
	if err := json.Unmarshal(e.Data(), &fd); err != nil {
		t.Fatal(err)
	}
	return fd
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recv waits for a value on ch, failing the test rather than hanging.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting")
		var zero T
		return zero
	}
}

// binaryHeaders is a valid binary-mode request's header set.
func binaryHeaders(id string) nats.Header {
	return nats.Header{
		"ce-specversion": {"1.0"},
		"ce-id":          {id},
		"ce-source":      {"/test"},
		"ce-type":        {wire.TypeRequest},
		"ce-subject":     {"doc-" + id},
		"content-type":   {"image/png"},
	}
}
