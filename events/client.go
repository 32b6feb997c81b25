package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/host"
)

// ErrNoJetStream: Submit, or an answer in the result bucket, on a Client
// made without WithJetStream.
var ErrNoJetStream = errors.New("client has no JetStream context")

// Document is what a client sends: the document, its format ("" lets the
// host sniff it) and the per-call options as JSON (nil for none).
type Document struct {
	Data        []byte
	ContentType string
	Options     json.RawMessage
}

// Client sends documents to hosts over NATS: request-reply (Request),
// request with progress (RequestWithProgress) and durable jobs (Submit).
// A document too large for one message is uploaded to the payload bucket
// and sent as a reference when the Client has JetStream (WithJetStream);
// a request's upload is deleted once it is answered, a job's by the worker
// once its task is final. A Client is safe for concurrent use.
type Client struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stores []jobs.StoreOption
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithJetStream lets the client upload large documents and submit jobs
// through js, with the buckets and the principal the StoreOptions name
// (jobs.WithPayloadBucket, jobs.WithOwner, jobs.AsTenant…).
func WithJetStream(js jetstream.JetStream, opts ...jobs.StoreOption) ClientOption {
	return func(c *Client) { c.js, c.stores = js, opts }
}

// NewClient returns a client sending on nc.
func NewClient(nc *nats.Conn, opts ...ClientOption) *Client {
	c := &Client{nc: nc}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Request sends doc as a binary-mode request event to subject and waits,
// until ctx ends, for the answer. Without options the event's data is the
// document itself; with options it is the JSON form. A failure answer is
// returned as a *host.Failure.
func (c *Client) Request(ctx context.Context, subject string, doc Document) (*host.Response, error) {
	id := uuid.NewString()
	msg, payload, err := c.message(ctx, subject, id, doc)
	if err != nil {
		return nil, err
	}
	defer payload.Release()
	rep, err := c.nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("request %s on %q: %w", id, subject, err)
	}
	out, _, err := wire.DecodeNATS(ctx, rep)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnexpectedReply, err)
	}
	if rid := out.Extensions()[ExtRequestID]; rid != id {
		return nil, fmt.Errorf("%w: %s %q answers request %v, not %s", ErrUnexpectedReply, out.Type(), out.ID(), rid, id)
	}
	// The reply inbox has one reader: a large answer is deleted once read.
	return c.response(ctx, out, true)
}

// RequestWithProgress is Request for a caller that wants to hear how a
// multi-page document is getting on. Request-reply has room for one answer
// only, so the request is published without a reply inbox: the host then
// answers on its result subject (resultSubject, the host's
// OCRHOST_RESULT_SUBJECT), sending a progress event after each batch of
// pages before the result. The answers to this request are picked out by
// their requestid and progress is called, on the calling goroutine, with
// each progress event's pages done and total.
//
// Other subscribers of the result subject see these answers too. Nothing
// tells a publisher that no host is listening, so without one the call
// waits until ctx ends.
func (c *Client) RequestWithProgress(ctx context.Context, subject, resultSubject string, doc Document, progress func(done, total int)) (*host.Response, error) {
	if subject == resultSubject {
		return nil, fmt.Errorf("%w: result subject %q is the request subject", ErrInvalidOption, resultSubject)
	}
	id := uuid.NewString()
	msg, payload, err := c.message(ctx, subject, id, doc)
	if err != nil {
		return nil, err
	}
	defer payload.Release()
	// Subscribed, and the subscription known to the server, before the
	// request goes out, so that no answer can slip past.
	sub, err := c.nc.SubscribeSync(resultSubject)
	if err != nil {
		return nil, fmt.Errorf("subscribing to %q: %w", resultSubject, err)
	}
	defer sub.Unsubscribe()
	if err := c.nc.FlushWithContext(ctx); err != nil {
		return nil, fmt.Errorf("subscribing to %q: %w", resultSubject, err)
	}
	if err := c.nc.PublishMsg(msg); err != nil {
		return nil, fmt.Errorf("request %s on %q: %w", id, subject, err)
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting for the answer to %s on %q: %w", id, resultSubject, err)
		}
		// Answers to other requests are skipped unread; ours are binary
		// mode, as the request was, so the header names them.
		if wire.HeaderOrEmpty(m.Header, wire.HeaderPrefix+ExtRequestID) != id {
			continue
		}
		out, _, err := wire.DecodeNATS(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnexpectedReply, err)
		}
		if out.Type() != TypeProgress {
			// Other subscribers of the result subject may read a large
			// answer too: it is left to expire.
			return c.response(ctx, out, false)
		}
		var p ProgressData
		if err := json.Unmarshal(out.Data(), &p); err != nil {
			return nil, fmt.Errorf("%w: progress data: %w", ErrUnexpectedReply, err)
		}
		if progress != nil {
			progress(p.PagesDone, p.PagesTotal)
		}
	}
}

// Submit queues doc as a job on subject (one of the work-queue stream's
// subjects, e.g. "ocr.jobs.scan") and returns its task id, the request
// event's id. See jobs.Queue for the pending record and the duplicate
// window.
func (c *Client) Submit(ctx context.Context, subject string, doc Document) (string, error) {
	if c.js == nil {
		return "", ErrNoJetStream
	}
	id := uuid.NewString()
	msg, _, err := c.message(ctx, subject, id, doc)
	if err != nil {
		return "", err
	}
	if err := jobs.Queue(ctx, c.js, msg, id, c.stores...); err != nil {
		return "", err
	}
	return id, nil
}

// message encodes doc as the request event id on subject, uploading it
// first when it is too large for one message; the payload is for the
// caller to release once the upload is no longer needed.
func (c *Client) message(ctx context.Context, subject, id string, doc Document) (*nats.Msg, jobs.Payload, error) {
	payload, err := jobs.PreparePayload(ctx, c.js, c.nc.MaxPayload(), id, doc.Data, doc.ContentType, doc.Options, c.stores...)
	if err != nil {
		return nil, jobs.Payload{}, err
	}
	msg, err := NewRequestMsg(ctx, subject, id, payload.Data, payload.ContentType, payload.Options)
	if err != nil {
		payload.Release()
		return nil, jobs.Payload{}, err
	}
	return msg, payload, nil
}

// NewRequestMsg encodes a request event with the given id as a binary-mode
// NATS message, the form a Client sends: the document as the data, or with
// options the JSON form. Its headers are also the binary-mode HTTP headers
// of the same event. For clients that route answers themselves, such as a
// load generator.
func NewRequestMsg(ctx context.Context, subject, id string, doc []byte, contentType string, options json.RawMessage) (*nats.Msg, error) {
	e, err := wire.NewRequest(id, doc, contentType, options)
	if err != nil {
		return nil, err
	}
	msg, err := wire.EncodeNATS(ctx, &e, false)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	msg.Subject = subject
	return msg, nil
}

// response reads a result or failure answer. A result too large for a
// message refers to its data in the host's result bucket, read through
// the client's JetStream and, with remove, deleted once read.
func (c *Client) response(ctx context.Context, out *event.Event, remove bool) (*host.Response, error) {
	data, ct := out.Data(), out.DataContentType()
	if out.Type() == TypeResult && ct == jobs.MediaObjectRef {
		if c.js == nil {
			return nil, fmt.Errorf("%w: the answer is in the host's result bucket (%s)", ErrNoJetStream, data)
		}
		ref, b, err := jobs.Fetch(ctx, c.js, data, remove)
		if err != nil {
			return nil, fmt.Errorf("reading the answer to %v: %w", out.Extensions()[ExtRequestID], err)
		}
		data, ct = b, ref.ContentType
	}
	switch out.Type() {
	case TypeResult:
		if ct != "" && ct != wire.MediaJSON {
			// A result in the format the request asked for.
			return &host.Response{ID: out.ID(), Output: data, OutputType: ct}, nil
		}
		var resp host.Response
		if err := json.Unmarshal(data, &resp); err != nil {
			return nil, fmt.Errorf("%w: result data: %w", ErrUnexpectedReply, err)
		}
		return &resp, nil
	case TypeFailure:
		var fd FailureData
		if err := json.Unmarshal(out.Data(), &fd); err != nil {
			return nil, fmt.Errorf("%w: failure data: %w", ErrUnexpectedReply, err)
		}
		return nil, &host.Failure{Code: fd.Code, Message: fd.Message}
	}
	return nil, fmt.Errorf("%w: event type %q", ErrUnexpectedReply, out.Type())
}
