// Package eventstest holds what the tests of the events transports and of
// the jobs worker share: documents, a bounded test context, the NATS
// headers of a request, and readers of answers and buckets. Only tests
// import it.
package eventstest

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
)

// PNG is a PNG signature plus filler; the stand-in hosts never decode it.
var PNG = []byte("\x89PNG\r\n\x1a\n0123456789")

// SmallPayload is the embedded server's max payload in the tests of large
// documents and answers: a BigDoc cannot travel in a message.
const SmallPayload = 64 << 10

// BigDoc is a 200 KB PNG-signed document of random bytes.
func BigDoc() []byte {
	doc := make([]byte, 200_000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range doc {
		doc[i] = byte(r.UintN(256))
	}
	copy(doc, PNG)
	return doc
}

// CannedResponse is a plausible two-line result.
func CannedResponse() *host.Response {
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

// Ctx is a context that ends with the test or after 10 s.
func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Recv waits for a value on ch, failing the test rather than hanging.
func Recv[T any](t *testing.T, ch <-chan T) T {
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

// BinaryHeaders is a valid binary-mode request's header set.
func BinaryHeaders(id string) nats.Header {
	return nats.Header{
		"ce-specversion": {"1.0"},
		"ce-id":          {id},
		"ce-source":      {"/test"},
		"ce-type":        {wire.TypeRequest},
		"ce-subject":     {"doc-" + id},
		"content-type":   {"image/png"},
	}
}

// FailureOf decodes a failure answer.
func FailureOf(t *testing.T, m *nats.Msg) wire.FailureData {
	t.Helper()
	e, _, err := wire.DecodeNATS(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type() != wire.TypeFailure {
		t.Fatalf("answer type %q, want failure; data %s", e.Type(), e.Data())
	}
	var fd wire.FailureData
	if err := json.Unmarshal(e.Data(), &fd); err != nil {
		t.Fatal(err)
	}
	return fd
}

// ObjectCount counts the objects left in a bucket.
func ObjectCount(t *testing.T, js jetstream.JetStream, bucket string) int {
	t.Helper()
	obs, err := js.ObjectStore(Ctx(t), bucket)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := obs.List(Ctx(t))
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(infos)
}
