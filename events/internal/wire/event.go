// Package wire is the CloudEvents contract the events transports, the jobs
// worker and the client share: the event types and attributes, the NATS
// binary-mode binding, the decoding of a request event into a
// host.Request, the building of answer events (Processor) and the gate
// that bounds and drains invocations. Its names are re-exported where users
// need them (events, events/jobs).
package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
)

// Event types of the contract.
const (
	// TypeRequest is the type clients should give requests; any type other
	// than TypeResult and TypeFailure is accepted as a request.
	TypeRequest = "com.ocrhost.ocr.request"
	// TypeResult is the type of an answer whose data is a host.Response.
	TypeResult = "com.ocrhost.ocr.result"
	// TypeFailure is the type of an answer whose data is a FailureData.
	TypeFailure = "com.ocrhost.ocr.failure"
)

// Defaults the transports and the worker share.
const (
	// DefaultSource is the source attribute of result and failure events.
	DefaultSource = "/ocrhost"
	// DefaultRequestSubject is the NATS subject requests arrive on.
	DefaultRequestSubject = "ocr.requests"
	// DefaultResultSubject is the NATS subject answers without a reply
	// inbox are published on.
	DefaultResultSubject = "ocr.results"
	// DefaultQueueGroup spreads requests over all host instances.
	DefaultQueueGroup = "ocrhost"
	// DefaultMaxBodyBytes caps a document: an HTTP request body, or an
	// object a request refers to.
	DefaultMaxBodyBytes = 64 << 20
)

// ExtRequestID is the extension attribute of answers that holds the
// request's id.
const ExtRequestID = "requestid"

// Media types with a meaning in the contract.
const (
	MediaJSON   = "application/json"
	MediaBinary = "application/octet-stream"
)

var (
	// ErrNotCloudEvent: the message is neither a binary-mode nor a
	// structured-mode CloudEvent.
	ErrNotCloudEvent = errors.New("not a CloudEvent")
	// ErrInvalidEvent: a CloudEvent with missing or wrong attributes.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrInvalidData: a request event whose data is no document.
	ErrInvalidData = errors.New("invalid request data")
	// ErrNoResponse: the invoker returned neither a response nor an error.
	ErrNoResponse = errors.New("invoker returned no response")
	// ErrClosing: the transport is draining and takes no new work.
	ErrClosing = errors.New("transport is closing")
	// ErrInvalidOption: a transport option is out of range.
	ErrInvalidOption = errors.New("invalid option")
	// ErrUnexpectedReply: a reply to Request is not one of our answers to it.
	ErrUnexpectedReply = errors.New("unexpected reply")
	// ErrDrainIncomplete: Close's deadline passed with invocations running;
	// they were cancelled and answered before Close returned.
	ErrDrainIncomplete = errors.New("drain incomplete")
)

// Invoker runs one decoded request; the host implements it.
type Invoker interface {
	Invoke(ctx context.Context, req *host.Request) (*host.Response, error)
}

// FailureData is the data of a TypeFailure event.
type FailureData struct {
	Code      host.Code `json:"code"`
	Message   string    `json:"message"`
	Retryable bool      `json:"retryable"`
	// RequestID is absent when the request's id could not be read.
	RequestID string `json:"request_id,omitempty"`
}

// Envelope is the JSON form of request data.
type Envelope struct {
	Data        []byte          `json:"data"`
	ContentType string          `json:"content_type,omitempty"`
	Options     json.RawMessage `json:"options,omitempty"`
}

// IsAnswerType reports whether typ is one of the types we send; such events
// are never taken as requests, so a misrouted answer cannot loop.
func IsAnswerType(typ string) bool {
	return typ == TypeResult || typ == TypeFailure || typ == TypeProgress
}

// DecodeEvent reads a CloudEvent from a transport message and checks its
// required attributes. The event is returned, when one could be read, even
// with an error, so that the failure can still name the request.
func DecodeEvent(ctx context.Context, m binding.Message) (*event.Event, error) {
	switch m.ReadEncoding() {
	case binding.EncodingBinary, binding.EncodingStructured:
	default:
		return nil, fmt.Errorf("%w: no ce-specversion header and no structured JSON body", ErrNotCloudEvent)
	}
	e, err := binding.ToEvent(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotCloudEvent, err)
	}
	if m.ReadEncoding() == binding.EncodingStructured && e.DataContentType() == "" && !e.DataBase64 && len(e.Data()) > 0 {
		// The JSON event format implies application/json for inline data.
		e.SetDataContentType(MediaJSON)
	}
	if e.SpecVersion() != event.CloudEventsVersionV1 {
		return e, fmt.Errorf("%w: specversion %q, want %q", ErrInvalidEvent, e.SpecVersion(), event.CloudEventsVersionV1)
	}
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return e, nil
}

// RequestFrom turns a valid request event into a host.Request.
func RequestFrom(e *event.Event) (*host.Request, error) {
	if IsAnswerType(e.Type()) {
		return nil, fmt.Errorf("%w: type %q is an answer, not a request", ErrInvalidEvent, e.Type())
	}
	req := &host.Request{ID: e.ID(), Source: e.Source(), Subject: e.Subject()}
	data := e.Data()
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty data", ErrInvalidData)
	}
	media, err := MediaType(e.DataContentType())
	if err != nil {
		return nil, err
	}
	if media != MediaJSON {
		req.Data, req.ContentType = data, media
		return req, nil
	}
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidData)
	}
	if len(env.Data) == 0 {
		return nil, fmt.Errorf("%w: empty \"data\"", ErrInvalidData)
	}
	if req.ContentType, err = MediaType(env.ContentType); err != nil {
		return nil, err
	}
	if req.ContentType == MediaJSON {
		return nil, fmt.Errorf("%w: content_type %q is not a document format", ErrInvalidData, env.ContentType)
	}
	req.Data = env.Data
	if !bytes.Equal(bytes.TrimSpace(env.Options), []byte("null")) {
		req.Options = env.Options
	}
	return req, nil
}

// mediaType normalises a content type to the bare media type the host
// expects, "" meaning "sniff it".
func MediaType(ct string) (string, error) {
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", fmt.Errorf("%w: content type %q: %w", ErrInvalidData, ct, err)
	}
	if mt == MediaBinary {
		return "", nil
	}
	return mt, nil
}

// Processor turns request events into answer events.
type Processor struct {
	Invoker Invoker
	Source  string // the answers' source attribute
}

// Answer runs one request event through the invoker. The failure is nil on
// success and otherwise what the answer event carries.
func (p *Processor) Answer(ctx context.Context, in *event.Event) (event.Event, *host.Failure) {
	return p.AnswerAs(ctx, in, "")
}

// AnswerAs is Answer for a client that prefers media type accept for the
// result ("" for none).
func (p *Processor) AnswerAs(ctx context.Context, in *event.Event, accept string) (event.Event, *host.Failure) {
	req, err := RequestFrom(in)
	if err != nil {
		f := host.Fail(host.CodeInvalidInput, err)
		return p.FailureEvent(in, f), f
	}
	req.Accept = accept
	req.Progress = p.progressFunc(ctx, in)
	resp, err := p.Invoker.Invoke(ctx, req)
	if err == nil && resp == nil {
		err = fmt.Errorf("%w: request %s", ErrNoResponse, req.ID)
	}
	if err != nil {
		f := host.AsFailure(err)
		return p.FailureEvent(in, f), f
	}
	if resp.OutputType != "" {
		// The result in the format asked for (hOCR, PDF…), not JSON.
		out := p.NewAnswer(in, TypeResult, resp.Output)
		out.SetDataContentType(resp.OutputType)
		return out, nil
	}
	data, err := json.Marshal(normalized(resp, req.ID))
	if err != nil {
		f := host.Fail(host.CodeInternal, fmt.Errorf("encoding result: %w", err))
		return p.FailureEvent(in, f), f
	}
	return p.NewAnswer(in, TypeResult, data), nil
}

// normalized fills what the result schema requires but a response may
// leave zero: the id, and lines and models as empty rather than null.
func normalized(resp *host.Response, id string) *host.Response {
	r := *resp
	if r.ID == "" {
		r.ID = id
	}
	if r.Lines == nil {
		r.Lines = []function.Line{}
	}
	if r.Models == nil {
		r.Models = map[string]string{}
	}
	return &r
}

// FailureEvent builds the answer carrying f; in is nil when the request
// could not be read at all.
func (p *Processor) FailureEvent(in *event.Event, f *host.Failure) event.Event {
	d := FailureData{Code: f.Code, Message: f.Message, Retryable: f.Code.Retryable()}
	if in != nil {
		d.RequestID = in.ID()
	}
	data, _ := json.Marshal(d) // strings and a bool always marshal
	return p.NewAnswer(in, TypeFailure, data)
}

func (p *Processor) NewAnswer(in *event.Event, typ string, data []byte) event.Event {
	out := event.New()
	out.SetID(uuid.NewString())
	out.SetSource(p.Source)
	out.SetType(typ)
	out.SetTime(time.Now())
	if in != nil {
		if s := in.Subject(); s != "" {
			out.SetSubject(s)
		}
		if id := in.ID(); id != "" {
			out.SetExtension(ExtRequestID, id)
		}
	}
	out.SetDataContentType(MediaJSON)
	out.DataEncoded = data
	return out
}
