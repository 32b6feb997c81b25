package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

func startNATS(t *testing.T, nc *nats.Conn, inv Invoker, opts ...NATSOption) *NATS {
	t.Helper()
	srv, err := StartNATS(nc, inv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	if err := nc.Flush(); err != nil { // the subscription is live past here
		t.Fatal(err)
	}
	return srv
}

func TestNATSRequestReplyBinary(t *testing.T) {
	srvConn, cli := natsPair(t)
	fh := newFakeHost()
	startNATS(t, srvConn, fh)

	resp, err := NewClient(cli).Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: eventstest.PNG, ContentType: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := fh.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d invocations", len(reqs))
	}
	got := reqs[0]
	if got.ContentType != "image/png" || string(got.Data) != string(eventstest.PNG) || got.Source != ClientSource || got.Options != nil {
		t.Errorf("host got %+v", got)
	}
	want := eventstest.CannedResponse()
	want.ID = got.ID
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response\n%+v\nwant\n%+v", resp, want)
	}

	// The answer's attributes, as a raw binary-mode client sees them.
	msg := &nats.Msg{Subject: DefaultRequestSubject, Header: eventstest.BinaryHeaders("b1"), Data: eventstest.PNG}
	rep, err := cli.RequestMsgWithContext(eventstest.Ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Header
	for k, want := range map[string]string{
		"ce-specversion": "1.0", "ce-type": TypeResult, "ce-source": DefaultSource,
		"ce-subject": "doc-b1", "ce-requestid": "b1", "content-type": "application/json",
	} {
		if h.Get(k) != want {
			t.Errorf("answer header %s = %q, want %q", k, h.Get(k), want)
		}
	}
	if id := h.Get("ce-id"); id == "" || id == "b1" {
		t.Errorf("answer id %q must be new", id)
	}
	var r host.Response
	if err := json.Unmarshal(rep.Data, &r); err != nil || r.ID != "b1" || len(r.Lines) != 2 {
		t.Errorf("answer body %s (%v)", rep.Data, err)
	}
}

func TestNATSRequestReplyStructured(t *testing.T) {
	srvConn, cli := natsPair(t)
	fh := newFakeHost()
	startNATS(t, srvConn, fh, WithSource("/ocr/eu-1"))

	for _, header := range []nats.Header{
		{"content-type": {"application/cloudevents+json; charset=utf-8"}},
		nil, // a JSON body with specversion is enough
	} {
		msg := &nats.Msg{Subject: DefaultRequestSubject, Header: header, Data: structuredBody(t, "s1")}
		rep, err := cli.RequestMsgWithContext(eventstest.Ctx(t), msg)
		if err != nil {
			t.Fatal(err)
		}
		if ct := rep.Header.Get("content-type"); ct != "application/cloudevents+json" {
			t.Errorf("answer content-type %q, want structured", ct)
		}
		var ev struct {
			Type, Source, Subject, RequestID, Datacontenttype string
			Data                                              host.Response
		}
		if err := json.Unmarshal(rep.Data, &ev); err != nil {
			t.Fatalf("%v: %s", err, rep.Data)
		}
		if ev.Type != TypeResult || ev.Source != "/ocr/eu-1" || ev.Subject != "doc-s1" || ev.RequestID != "s1" ||
			ev.Datacontenttype != "application/json" || ev.Data.ID != "s1" || ev.Data.Width != 640 {
			t.Errorf("structured answer %s", rep.Data)
		}
		if got := fh.waitStarted(t); got.ContentType != "image/png" || string(got.Data) != string(eventstest.PNG) {
			t.Errorf("host got %+v", got)
		}
	}
}

func TestNATSPublishWithoutReply(t *testing.T) {
	srvConn, cli := natsPair(t)
	startNATS(t, srvConn, newFakeHost())
	results, err := cli.SubscribeSync(DefaultResultSubject)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.PublishMsg(&nats.Msg{Subject: DefaultRequestSubject, Header: eventstest.BinaryHeaders("p1"), Data: eventstest.PNG}); err != nil {
		t.Fatal(err)
	}
	m, err := results.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e, structured, err := wire.DecodeNATS(context.Background(), m)
	if err != nil || structured {
		t.Fatalf("structured=%v err=%v", structured, err)
	}
	if e.Type() != TypeResult || e.Extensions()[ExtRequestID] != "p1" || e.Subject() != "doc-p1" || e.DataContentType() != "application/json" {
		t.Errorf("published answer %v", e)
	}
}

func TestNATSMalformed(t *testing.T) {
	srvConn, cli := natsPair(t)
	fh := newFakeHost()
	startNATS(t, srvConn, fh)
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			msg := natsMsgOf(c)
			msg.Subject = DefaultRequestSubject
			rep, err := cli.RequestMsgWithContext(eventstest.Ctx(t), msg)
			if err != nil {
				t.Fatal(err)
			}
			fd := eventstest.FailureOf(t, rep)
			if fd.Code != host.CodeInvalidInput || fd.Retryable {
				t.Errorf("failure %+v", fd)
			}
			if id := c.headers["ce-id"]; c.want != ErrNotCloudEvent && fd.RequestID != id {
				t.Errorf("request_id %q, want %q", fd.RequestID, id)
			}
		})
	}
	if n := len(fh.requests()); n != 0 {
		t.Errorf("invoker called %d times for malformed requests", n)
	}
}

func TestNATSInvokerFailureAndOptions(t *testing.T) {
	srvConn, cli := natsPair(t)
	fh := newFakeHost()
	fh.fail = host.Fail(host.CodeUnsupportedFormat, errors.New("svg is not a raster format"))
	startNATS(t, srvConn, fh)

	opts := json.RawMessage(`{"det_limit":960}`)
	_, err := NewClient(cli).Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: []byte("<svg/>"), ContentType: "image/svg+xml", Options: opts})
	var f *host.Failure
	if !errors.As(err, &f) || f.Code != host.CodeUnsupportedFormat || f.Message != fh.fail.Message {
		t.Fatalf("error %v, want the host's unsupported_format failure", err)
	}
	got := fh.waitStarted(t)
	if string(got.Options) != string(opts) || got.ContentType != "image/svg+xml" || string(got.Data) != "<svg/>" {
		t.Errorf("host got %+v", got)
	}
}

func TestNATSMaxInFlightAnswersBusyAtOnce(t *testing.T) {
	srvConn, cli := natsPair(t)
	fh := newFakeHost()
	startNATS(t, srvConn, fh, WithMaxInFlight(1))
	release := fh.block(t)

	first := make(chan error, 1)
	go func() {
		_, err := NewClient(cli).Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: eventstest.PNG, ContentType: "image/png"})
		first <- err
	}()
	fh.waitStarted(t)

	start := time.Now()
	rep, err := cli.RequestMsgWithContext(eventstest.Ctx(t), &nats.Msg{Subject: DefaultRequestSubject, Header: eventstest.BinaryHeaders("busy1"), Data: eventstest.PNG})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("busy answer took %v", d)
	}
	if fd := eventstest.FailureOf(t, rep); fd.Code != host.CodeBusy || !fd.Retryable || fd.RequestID != "busy1" {
		t.Errorf("failure %+v", fd)
	}
	release()
	if err := eventstest.Recv(t, first); err != nil {
		t.Errorf("first request: %v", err)
	}
	if n := len(fh.requests()); n != 1 {
		t.Errorf("invoker called %d times, want 1", n)
	}
}

func TestNATSCloseWaitsThenStops(t *testing.T) {
	srvConn, cli := natsPair(t)
	fh := newFakeHost()
	srv := startNATS(t, srvConn, fh)
	release := fh.block(t)

	first := make(chan error, 1)
	go func() {
		_, err := NewClient(cli).Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: eventstest.PNG})
		first <- err
	}()
	fh.waitStarted(t)

	closed := make(chan error, 1)
	go func() { closed <- srv.Close(eventstest.Ctx(t)) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	if err := eventstest.Recv(t, closed); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-first:
		if err != nil {
			t.Errorf("in-flight request: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the in-flight request was not answered")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := NewClient(cli).Request(ctx, DefaultRequestSubject, Document{Data: eventstest.PNG}); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("request after Close: %v, want no responders", err)
	}
}

func TestNATSCloseCancelsStragglers(t *testing.T) {
	srvConn, cli := natsPair(t)
	fh := newFakeHost()
	srv := startNATS(t, srvConn, fh)
	fh.block(t) // released only by the test's end

	first := make(chan error, 1)
	go func() {
		_, err := NewClient(cli).Request(eventstest.Ctx(t), DefaultRequestSubject, Document{Data: eventstest.PNG})
		first <- err
	}()
	fh.waitStarted(t)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Close(ctx); !errors.Is(err, ErrDrainIncomplete) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want ErrDrainIncomplete", err)
	}
	var f *host.Failure
	if err := eventstest.Recv(t, first); !errors.As(err, &f) || f.Code != host.CodeBusy {
		t.Errorf("straggler answered %v, want busy", err)
	}
}

// TestNATSAnswerTypeWithoutInboxIsDropped guards against loops through a
// subscription that also sees the result subject.
func TestNATSAnswerTypeWithoutInboxIsDropped(t *testing.T) {
	srvConn, cli := natsPair(t)
	var logs bytes.Buffer
	srv := startNATS(t, srvConn, newFakeHost(), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	results, err := cli.SubscribeSync(DefaultResultSubject)
	if err != nil {
		t.Fatal(err)
	}
	h := eventstest.BinaryHeaders("loop1")
	h.Set("ce-type", TypeResult)
	if err := cli.PublishMsg(&nats.Msg{Subject: DefaultRequestSubject, Header: h, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// A malformed request without an inbox still gets its failure published.
	if err := cli.PublishMsg(&nats.Msg{Subject: DefaultRequestSubject, Data: []byte("junk")}); err != nil {
		t.Fatal(err)
	}
	if err := cli.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(eventstest.Ctx(t)); err != nil { // every message handled
		t.Fatal(err)
	}
	if err := srvConn.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := cli.Flush(); err != nil {
		t.Fatal(err)
	}
	m, err := results.NextMsg(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if fd := eventstest.FailureOf(t, m); fd.Code != host.CodeInvalidInput || fd.RequestID != "" {
		t.Errorf("published failure %+v, want the junk message's", fd)
	}
	if m, err := results.NextMsg(50 * time.Millisecond); err == nil {
		t.Errorf("answer-typed event was answered: %s %s", m.Header, m.Data)
	}
	if !strings.Contains(logs.String(), "dropped an answer event") || !strings.Contains(logs.String(), "id=loop1") {
		t.Errorf("drop not logged: %s", logs.String())
	}
}

func TestNATSOptionsValidated(t *testing.T) {
	srvConn, _ := natsPair(t)
	for name, opts := range map[string][]NATSOption{
		"loop":         {WithRequestSubject("ocr.x"), WithResultSubject("ocr.x")},
		"no in flight": {WithMaxInFlight(0)},
		"no source":    {WithSource("")},
		"no subject":   {WithRequestSubject("")},
	} {
		if _, err := StartNATS(srvConn, newFakeHost(), opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}
