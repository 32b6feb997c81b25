package events

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/host"
)

// echoInvoker answers every request with the canned response, so that a
// fuzzed message exercises the whole transport path: decode, request,
// answer, encode.
type echoInvoker struct{}

func (echoInvoker) Invoke(_ context.Context, req *host.Request) (*host.Response, error) {
	r := eventstest.CannedResponse()
	r.ID = req.ID
	return r, nil
}

// headerBlock writes headers one "name: value" a line, as FuzzDecodeEvent
// reads them.
func headerBlock(h map[string]string) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + ": " + h[k] + "\n")
	}
	return b.String()
}

// parseHeaderBlock is headerBlock's inverse; lines without a colon are
// skipped.
func parseHeaderBlock(s string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return out
}

// decodeKinds are the errors a request may be refused with before the
// invoker sees it.
var decodeKinds = []error{ErrNotCloudEvent, ErrInvalidEvent, ErrInvalidData}

func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	n := 0
	for _, k := range decodeKinds {
		if errors.Is(err, k) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q wraps %d of the decode kinds, want 1", err, n)
	}
}

// FuzzDecodeEvent sends arbitrary headers and bodies through both
// bindings. Decoding never panics, every refusal is one typed error, the
// request reaching the invoker is well formed, and every message gets an
// answer that encodes, decodes as one of ours and names the request.
func FuzzDecodeEvent(f *testing.F) {
	good := map[string]string{}
	for k, v := range eventstest.BinaryHeaders("seed") {
		good[k] = v[0]
	}
	f.Add(headerBlock(good), eventstest.PNG)
	f.Add("ce-specversion: 1.0\nce-id: j\nce-source: /s\nce-type: t\ncontent-type: application/json\n",
		[]byte(`{"data":"`+pngB64+`","content_type":"image/png","options":{"stages":["det"]}}`))
	f.Add("ce-specversion: 1.0\nce-id: r\nce-source: /s\nce-type: t\ncontent-type: "+jobs.MediaObjectRef+"\n",
		[]byte(`{"bucket":"ocr-payloads","name":"n","options":{"dpi":100}}`))
	f.Add("content-type: application/cloudevents+json\n",
		[]byte(`{"specversion":"1.0","id":"s","source":"/s","type":"t","datacontenttype":"image/png","data_base64":"`+pngB64+`"}`))
	f.Add("", []byte(`{"specversion":"1.0","id":"s","source":"/s","type":"t","data":{"data":"`+pngB64+`"}}`))
	f.Add("content-type: application/cloudevents-batch+json\n", []byte(`[{"specversion":"1.0","id":"b","source":"/s","type":"t"}]`))
	f.Add("CE-SpecVersion: 1.0\nCe-Id: mixed\nce-SOURCE: /s\nCe-Type: t\nContent-Type: image/png; charset=binary\n", eventstest.PNG)
	for _, c := range malformedCases {
		f.Add(headerBlock(c.headers), c.body)
	}
	h, err := NewHTTP(echoInvoker{}, WithMaxBodyBytes(1<<16))
	if err != nil {
		f.Fatal(err)
	}
	p := wire.Processor{Invoker: echoInvoker{}, Source: DefaultSource}
	f.Fuzz(func(t *testing.T, headers string, body []byte) {
		ctx := context.Background()
		fields := parseHeaderBlock(headers)

		m := &nats.Msg{Subject: DefaultRequestSubject, Header: nats.Header{}, Data: body}
		for _, kv := range fields {
			m.Header.Add(kv[0], kv[1])
		}
		in, structured, err := wire.DecodeNATS(ctx, m)
		if err == nil {
			var req *host.Request
			if req, err = wire.RequestFrom(in); err == nil {
				switch {
				case req.ID == "" || req.Source == "" || len(req.Data) == 0:
					t.Fatalf("request without id, source or data: %+v", req)
				case req.ContentType == wire.MediaJSON || req.ContentType == wire.MediaBinary:
					t.Fatalf("content type %q reached the invoker", req.ContentType)
				}
			}
		}
		if err != nil {
			checkDecodeError(t, err)
		}
		var fail *host.Failure
		var out event.Event
		if err != nil {
			out = p.FailureEvent(in, host.Fail(host.CodeInvalidInput, err))
		} else if out, fail = p.Answer(ctx, in); fail != nil {
			t.Fatalf("echo invoker failed: %v", fail)
		}
		msg, err := wire.EncodeNATS(ctx, &out, structured)
		if err != nil {
			t.Fatalf("answer does not encode: %v", err)
		}
		back, _, err := wire.DecodeNATS(ctx, msg)
		if err != nil || !wire.IsAnswerType(back.Type()) {
			t.Fatalf("answer does not decode as an answer: %v %v", err, back)
		}
		if in != nil && in.ID() != "" && back.Extensions()[ExtRequestID] != in.ID() {
			t.Fatalf("answer names request %v, not %q", back.Extensions()[ExtRequestID], in.ID())
		}

		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		for _, kv := range fields {
			r.Header.Add(kv[0], kv[1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		typ := w.Header().Get("Ce-Type")
		switch w.Code {
		case http.StatusOK:
			if typ != TypeResult {
				t.Fatalf("200 with a %q event", typ)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if typ != TypeFailure {
				t.Fatalf("%d with a %q event", w.Code, typ)
			}
		default:
			t.Fatalf("status %d for a request the echo invoker serves: %s", w.Code, w.Body)
		}
	})
}
