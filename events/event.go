package events

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

// ExtRequestID is the extension attribute of answers that holds the
// request's id.
const ExtRequestID = "requestid"

// Media types with a meaning in the contract.
const (
	mediaJSON   = "application/json"
	mediaBinary = "application/octet-stream"
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

// requestEnvelope is the JSON form of request data.
type requestEnvelope struct {
	Data        []byte          `json:"data"`
	ContentType string          `json:"content_type,omitempty"`
	Options     json.RawMessage `json:"options,omitempty"`
}

// isAnswerType reports whether typ is one of the types we send; such events
// are never taken as requests, so a misrouted answer cannot loop.
func isAnswerType(typ string) bool {
	return typ == TypeResult || typ == TypeFailure || typ == TypeProgress
}

// decodeEvent reads a CloudEvent from a transport message and checks its
// required attributes. The event is returned, when one could be read, even
// with an error, so that the failure can still name the request.
func decodeEvent(ctx context.Context, m binding.Message) (*event.Event, error) {
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
		e.SetDataContentType(mediaJSON)
	}
	if e.SpecVersion() != event.CloudEventsVersionV1 {
		return e, fmt.Errorf("%w: specversion %q, want %q", ErrInvalidEvent, e.SpecVersion(), event.CloudEventsVersionV1)
	}
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return e, nil
}

// requestFrom turns a valid request event into a host.Request.
func requestFrom(e *event.Event) (*host.Request, error) {
	if isAnswerType(e.Type()) {
		return nil, fmt.Errorf("%w: type %q is an answer, not a request", ErrInvalidEvent, e.Type())
	}
	req := &host.Request{ID: e.ID(), Source: e.Source(), Subject: e.Subject()}
	data := e.Data()
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty data", ErrInvalidData)
	}
	media, err := mediaType(e.DataContentType())
	if err != nil {
		return nil, err
	}
	if media != mediaJSON {
		req.Data, req.ContentType = data, media
		return req, nil
	}
	var env requestEnvelope
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
	if req.ContentType, err = mediaType(env.ContentType); err != nil {
		return nil, err
	}
	if req.ContentType == mediaJSON {
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
func mediaType(ct string) (string, error) {
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", fmt.Errorf("%w: content type %q: %w", ErrInvalidData, ct, err)
	}
	if mt == mediaBinary {
		return "", nil
	}
	return mt, nil
}

// processor turns request events into answer events.
type processor struct {
	inv    Invoker
	source string
}

// answer runs one request event through the invoker. The failure is nil on
// success and otherwise what the answer event carries.
func (p *processor) answer(ctx context.Context, in *event.Event) (event.Event, *host.Failure) {
	return p.answerAs(ctx, in, "")
}

// answerAs is answer for a client that prefers media type accept for the
// result ("" for none).
func (p *processor) answerAs(ctx context.Context, in *event.Event, accept string) (event.Event, *host.Failure) {
	req, err := requestFrom(in)
	if err != nil {
		f := host.Fail(host.CodeInvalidInput, err)
		return p.failureEvent(in, f), f
	}
	req.Accept = accept
	req.Progress = p.progressFunc(ctx, in)
	resp, err := p.inv.Invoke(ctx, req)
	if err == nil && resp == nil {
		err = fmt.Errorf("%w: request %s", ErrNoResponse, req.ID)
	}
	if err != nil {
		f := host.AsFailure(err)
		return p.failureEvent(in, f), f
	}
	if resp.OutputType != "" {
		// The result in the format asked for (hOCR, PDF…), not JSON.
		out := p.newAnswer(in, TypeResult, resp.Output)
		out.SetDataContentType(resp.OutputType)
		return out, nil
	}
	data, err := json.Marshal(normalized(resp, req.ID))
	if err != nil {
		f := host.Fail(host.CodeInternal, fmt.Errorf("encoding result: %w", err))
		return p.failureEvent(in, f), f
	}
	return p.newAnswer(in, TypeResult, data), nil
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

// failureEvent builds the answer carrying f; in is nil when the request
// could not be read at all.
func (p *processor) failureEvent(in *event.Event, f *host.Failure) event.Event {
	d := FailureData{Code: f.Code, Message: f.Message, Retryable: f.Code.Retryable()}
	if in != nil {
		d.RequestID = in.ID()
	}
	data, _ := json.Marshal(d) // strings and a bool always marshal
	return p.newAnswer(in, TypeFailure, data)
}

func (p *processor) newAnswer(in *event.Event, typ string, data []byte) event.Event {
	out := event.New()
	out.SetID(uuid.NewString())
	out.SetSource(p.source)
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
	out.SetDataContentType(mediaJSON)
	out.DataEncoded = data
	return out
}
