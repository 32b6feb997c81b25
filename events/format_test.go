package events

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// outputHost answers in the format its request's Accept names, as the
// host does, recording the Accept it was given.
type outputHost struct{ accept chan string }

func (o *outputHost) Invoke(_ context.Context, req *host.Request) (*host.Response, error) {
	o.accept <- req.Accept
	if req.Accept == "application/pdf" {
		return &host.Response{ID: req.ID, Output: []byte("%PDF-1.4 body"), OutputType: "application/pdf"}, nil
	}
	return eventstest.CannedResponse(), nil
}

// TestHTTPAccept: the Accept header's first choice reaches the host; a
// result in another format is the answer's data with its media type, and
// the client reads it back as output; a browser's Accept still gets JSON.
func TestHTTPAccept(t *testing.T) {
	oh := &outputHost{accept: make(chan string, 8)}
	_, ts := startHTTP(t, oh)
	for _, c := range []struct{ accept, host, contentType string }{
		{"application/pdf", "application/pdf", "application/pdf"},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html", "application/json"},
		{"application/json;q=0.5, application/pdf", "application/pdf", "application/pdf"},
		{"*/*", "", "application/json"},
		{"", "", "application/json"},
	} {
		headers := binaryHTTPHeaders("a1")
		if c.accept != "" {
			headers["Accept"] = c.accept
		}
		resp := post(t, ts.URL, headers, bytes.NewReader(eventstest.PNG))
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got := <-oh.accept; got != c.host {
			t.Errorf("Accept %q: host got %q, want %q", c.accept, got, c.host)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.contentType || resp.Header.Get("Ce-Type") != TypeResult {
			t.Errorf("Accept %q: status %d, Content-Type %q, type %q; want %q", c.accept, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Ce-Type"), c.contentType)
		}
		if c.contentType == "application/pdf" && string(body) != "%PDF-1.4 body" {
			t.Errorf("PDF answer body %q", body)
		}
	}
}

// TestClientReadsOutput: the NATS client turns a non-JSON result back
// into a response's output.
func TestClientReadsOutput(t *testing.T) {
	oh := &outputHost{accept: make(chan string, 1)}
	in := event.New()
	in.SetID("c1")
	in.SetSource("/test")
	in.SetType(TypeRequest)
	in.SetDataContentType("image/png")
	in.DataEncoded = eventstest.PNG
	p := wire.Processor{Invoker: oh, Source: DefaultSource}
	out, f := p.AnswerAs(context.Background(), &in, "application/pdf")
	if f != nil {
		t.Fatal(f)
	}
	resp, err := (&Client{}).response(context.Background(), &out, false)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputType != "application/pdf" || string(resp.Output) != "%PDF-1.4 body" {
		t.Errorf("client read %q %q", resp.OutputType, resp.Output)
	}
}
