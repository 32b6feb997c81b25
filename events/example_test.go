package events_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/natsd"
)

// echo stands in for the host: it "reads" a document as the text it holds.
type echo struct{}

func (echo) Invoke(_ context.Context, req *host.Request) (*host.Response, error) {
	text := string(req.Data)
	return &host.Response{ID: req.ID, Device: "cpu", Text: text,
		Result: function.Result{Lines: []function.Line{{Text: text, Confidence: 1}}}}, nil
}

// A host serves requests on a NATS subject; a client sends a document by
// request-reply and gets the result event's data back.
func Example() {
	srv, err := natsd.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()

	t, err := events.StartNATS(nc, echo{}, events.WithRequestSubject("ocr.requests"))
	if err != nil {
		panic(err)
	}
	defer t.Close(context.Background())

	client := events.NewClient(nc)
	resp, err := client.Request(context.Background(), "ocr.requests", events.Document{Data: []byte("hello")})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Text, resp.Device)
	// Output: hello cpu
}

// The same host behind HTTP, as a Knative trigger delivers to it: a binary
// CloudEvent in, the answer event out.
func ExampleNewHTTP() {
	h, err := events.NewHTTP(echo{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("hello"))
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", "r1")
	req.Header.Set("ce-source", "/example")
	req.Header.Set("ce-type", events.TypeRequest)
	req.Header.Set("content-type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("ce-type"), resp.Header.Get("ce-requestid"))
	// Output: 200 com.ocrhost.ocr.result r1
}
