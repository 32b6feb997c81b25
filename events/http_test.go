package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/host"
)

func startHTTP(t *testing.T, inv Invoker, opts ...HTTPOption) (*HTTP, *httptest.Server) {
	t.Helper()
	h, err := NewHTTP(inv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return h, ts
}

func post(t *testing.T, url string, headers map[string]string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(eventstest.Ctx(t), http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func binaryHTTPHeaders(id string) map[string]string {
	h := map[string]string{}
	for k, v := range eventstest.BinaryHeaders(id) {
		h[k] = v[0]
	}
	return h
}

// answerOf checks the response is a binary-mode answer of the given type
// for requestID and returns its data.
func answerOf(t *testing.T, resp *http.Response, typ, requestID string) []byte {
	t.Helper()
	h := resp.Header
	if h.Get("Ce-Specversion") != "1.0" || h.Get("Ce-Type") != typ || h.Get("Ce-Source") != DefaultSource ||
		h.Get("Ce-Requestid") != requestID || h.Get("Content-Type") != "application/json" || h.Get("Ce-Id") == "" {
		t.Errorf("answer headers %v, want a binary %s for %q", h, typ, requestID)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func httpFailureOf(t *testing.T, resp *http.Response, requestID string) FailureData {
	t.Helper()
	var fd FailureData
	if err := json.Unmarshal(answerOf(t, resp, TypeFailure, requestID), &fd); err != nil {
		t.Fatal(err)
	}
	if fd.RequestID != requestID {
		t.Errorf("request_id %q, want %q", fd.RequestID, requestID)
	}
	return fd
}

func TestHTTPBinary(t *testing.T) {
	fh := newFakeHost()
	_, ts := startHTTP(t, fh)
	resp := post(t, ts.URL, binaryHTTPHeaders("h1"), bytes.NewReader(eventstest.PNG))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if s := resp.Header.Get("Ce-Subject"); s != "doc-h1" {
		t.Errorf("subject %q", s)
	}
	var r host.Response
	if err := json.Unmarshal(answerOf(t, resp, TypeResult, "h1"), &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "h1" || r.Width != 640 || len(r.Lines) != 2 || r.Lines[1].Text != "world" || r.Device != "cpu" {
		t.Errorf("result %+v", r)
	}
	if got := fh.waitStarted(t); got.ID != "h1" || got.Subject != "doc-h1" || got.ContentType != "image/png" || string(got.Data) != string(eventstest.PNG) {
		t.Errorf("host got %+v", got)
	}
}

func TestHTTPStructured(t *testing.T) {
	fh := newFakeHost()
	_, ts := startHTTP(t, fh)
	resp := post(t, ts.URL, map[string]string{"Content-Type": "application/cloudevents+json"}, bytes.NewReader(structuredBody(t, "h2")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var r host.Response
	if err := json.Unmarshal(answerOf(t, resp, TypeResult, "h2"), &r); err != nil || r.ID != "h2" {
		t.Fatalf("result %+v (%v)", r, err)
	}
	if got := fh.waitStarted(t); got.ContentType != "image/png" || string(got.Data) != string(eventstest.PNG) {
		t.Errorf("host got %+v", got)
	}
}

func TestHTTPMalformed(t *testing.T) {
	fh := newFakeHost()
	_, ts := startHTTP(t, fh)
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			resp := post(t, ts.URL, c.headers, bytes.NewReader(c.body))
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d", resp.StatusCode)
			}
			id := c.headers["ce-id"]
			if c.want == ErrNotCloudEvent {
				id = ""
			}
			if fd := httpFailureOf(t, resp, id); fd.Code != host.CodeInvalidInput {
				t.Errorf("failure %+v", fd)
			}
		})
	}
	if n := len(fh.requests()); n != 0 {
		t.Errorf("invoker called %d times for malformed requests", n)
	}
}

func TestHTTPFailureStatuses(t *testing.T) {
	cases := []struct {
		code       host.Code
		status     int
		retryAfter string
	}{
		{host.CodeBusy, http.StatusTooManyRequests, "2"},
		{host.CodeInsufficientMemory, http.StatusTooManyRequests, "2"},
		{host.CodeUnsupportedFormat, http.StatusUnsupportedMediaType, ""},
		{host.CodeTooLarge, http.StatusRequestEntityTooLarge, ""},
		{host.CodeInvalidInput, http.StatusBadRequest, ""},
		{host.CodeInternal, http.StatusInternalServerError, ""},
	}
	for _, c := range cases {
		t.Run(string(c.code), func(t *testing.T) {
			fh := newFakeHost()
			fh.fail = host.Fail(c.code, errors.New("from the host"))
			_, ts := startHTTP(t, fh, WithRetryAfter(1500*time.Millisecond))
			resp := post(t, ts.URL, binaryHTTPHeaders("f1"), bytes.NewReader(eventstest.PNG))
			if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retryAfter {
				t.Errorf("status %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), c.status, c.retryAfter)
			}
			if fd := httpFailureOf(t, resp, "f1"); fd.Code != c.code || fd.Retryable != c.code.Retryable() || fd.Message != fh.fail.Message {
				t.Errorf("failure %+v", fd)
			}
		})
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	fh := newFakeHost()
	_, ts := startHTTP(t, fh, WithMaxBodyBytes(1024))
	big := bytes.Repeat([]byte{0xff}, 2048)
	// io.MultiReader hides the length, so the body arrives chunked and only
	// reading it finds the excess.
	for name, body := range map[string]io.Reader{"content-length": bytes.NewReader(big), "chunked": io.MultiReader(bytes.NewReader(big))} {
		t.Run(name, func(t *testing.T) {
			resp := post(t, ts.URL, binaryHTTPHeaders("big"), body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if fd := httpFailureOf(t, resp, "big"); fd.Code != host.CodeTooLarge || fd.Retryable {
				t.Errorf("failure %+v", fd)
			}
		})
	}
	if n := len(fh.requests()); n != 0 {
		t.Errorf("invoker called %d times", n)
	}
	if resp := post(t, ts.URL, binaryHTTPHeaders("ok"), bytes.NewReader(big[:1024])); resp.StatusCode != http.StatusOK {
		t.Errorf("body at the limit: status %d", resp.StatusCode)
	}
}

func TestHTTPMethodAndPath(t *testing.T) {
	_, ts := startHTTP(t, newFakeHost())
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET /: status %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if resp := post(t, ts.URL+"/healthz", binaryHTTPHeaders("x"), bytes.NewReader(eventstest.PNG)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /healthz: status %d", resp.StatusCode)
	}
}

func TestHTTPMaxInFlightAndShutdown(t *testing.T) {
	fh := newFakeHost()
	h, ts := startHTTP(t, fh, WithMaxInFlight(1))
	release := fh.block(t)

	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, ts.URL, bytes.NewReader(eventstest.PNG))
		for k, v := range binaryHTTPHeaders("slow") {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	fh.waitStarted(t)

	start := time.Now()
	resp := post(t, ts.URL, binaryHTTPHeaders("second"), bytes.NewReader(eventstest.PNG))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("over the limit: status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if fd := httpFailureOf(t, resp, "second"); fd.Code != host.CodeBusy {
		t.Errorf("failure %+v", fd)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("busy answer took %v", d)
	}

	done := make(chan error, 1)
	go func() { done <- h.Shutdown(eventstest.Ctx(t)) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	if resp := post(t, ts.URL, binaryHTTPHeaders("late"), bytes.NewReader(eventstest.PNG)); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("request while shutting down: status %d", resp.StatusCode)
	}
	release()
	if err := eventstest.Recv(t, done); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if status := eventstest.Recv(t, first); status != http.StatusOK {
		t.Errorf("in-flight request: status %d", status)
	}
	if n := len(fh.requests()); n != 1 {
		t.Errorf("invoker called %d times, want 1", n)
	}
}

func TestHTTPShutdownCancelsStragglers(t *testing.T) {
	fh := newFakeHost()
	h, ts := startHTTP(t, fh)
	fh.block(t) // released only by the test's end
	first := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, ts.URL, bytes.NewReader(eventstest.PNG))
		for k, v := range binaryHTTPHeaders("stuck") {
			req.Header.Set(k, v)
		}
		resp, _ := http.DefaultClient.Do(req)
		first <- resp
	}()
	fh.waitStarted(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.Shutdown(ctx); !errors.Is(err, ErrDrainIncomplete) {
		t.Fatalf("Shutdown: %v, want ErrDrainIncomplete", err)
	}
	resp := eventstest.Recv(t, first)
	if resp == nil {
		t.Fatal("no response")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("straggler: status %d, want 429", resp.StatusCode)
	}
}

func TestHTTPOptionsValidated(t *testing.T) {
	for name, opts := range map[string][]HTTPOption{
		"body":        {WithMaxBodyBytes(0)},
		"retry after": {WithRetryAfter(-time.Second)},
		"in flight":   {WithMaxInFlight(-1)},
		"logger":      {WithLogger(nil)},
	} {
		if _, err := NewHTTP(newFakeHost(), opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}
