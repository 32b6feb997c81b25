package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/host"
)

// ClientSource is the source attribute of requests sent by Request.
const ClientSource = "/ocrhost/client"

// Request sends doc as a binary-mode request event to subject and waits,
// until ctx ends, for the answer. Without options the event's data is doc
// itself with contentType ("" lets the host sniff the format); with options
// it is the JSON form. A failure answer is returned as a *host.Failure.
func Request(ctx context.Context, nc *nats.Conn, subject string, doc []byte, contentType string, options json.RawMessage) (*host.Response, error) {
	e, err := newRequestEvent(uuid.NewString(), doc, contentType, options)
	if err != nil {
		return nil, err
	}
	msg, err := encodeNATS(ctx, &e, false)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	msg.Subject = subject
	rep, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("request %s on %q: %w", e.ID(), subject, err)
	}
	out, _, err := decodeNATS(ctx, rep)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnexpectedReply, err)
	}
	if rid := out.Extensions()[ExtRequestID]; rid != e.ID() {
		return nil, fmt.Errorf("%w: %s %q answers request %v, not %s", ErrUnexpectedReply, out.Type(), out.ID(), rid, e.ID())
	}
	return responseOf(out)
}

// NewRequestMsg encodes a request event with the given id as a binary-mode
// NATS message, the form Request sends: the document as the data, or with
// options the JSON form. Its headers are also the binary-mode HTTP
// headers of the same event. For clients that route answers themselves,
// such as a load generator.
func NewRequestMsg(ctx context.Context, subject, id string, doc []byte, contentType string, options json.RawMessage) (*nats.Msg, error) {
	e, err := newRequestEvent(id, doc, contentType, options)
	if err != nil {
		return nil, err
	}
	msg, err := encodeNATS(ctx, &e, false)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	msg.Subject = subject
	return msg, nil
}

// responseOf reads a result or failure answer.
func responseOf(out *event.Event) (*host.Response, error) {
	switch out.Type() {
	case TypeResult:
		if ct := out.DataContentType(); ct != "" && ct != mediaJSON && ct != MediaObjectRef {
			// A result in the format the request asked for.
			return &host.Response{ID: out.ID(), Output: out.Data(), OutputType: ct}, nil
		}
		var resp host.Response
		if err := json.Unmarshal(out.Data(), &resp); err != nil {
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

// RequestWithProgress is RequestAuto for a caller that wants to hear how a
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
func RequestWithProgress(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, subject, resultSubject string,
	doc []byte, contentType string, options json.RawMessage, progress func(done, total int), opts ...StoreOption) (*host.Response, error) {
	if subject == resultSubject {
		return nil, fmt.Errorf("%w: result subject %q is the request subject", ErrInvalidOption, resultSubject)
	}
	id := uuid.NewString()
	out, err := prepare(ctx, nc.MaxPayload(), js, opts, id, doc, contentType, options)
	if err != nil {
		return nil, err
	}
	if out.ref != nil {
		defer deleteUploaded(js, out.ref)
	}
	e, err := newRequestEvent(id, out.data, out.contentType, out.options)
	if err != nil {
		return nil, err
	}
	msg, err := encodeNATS(ctx, &e, false)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	msg.Subject = subject
	// Subscribed, and the subscription known to the server, before the
	// request goes out, so that no answer can slip past.
	sub, err := nc.SubscribeSync(resultSubject)
	if err != nil {
		return nil, fmt.Errorf("subscribing to %q: %w", resultSubject, err)
	}
	defer sub.Unsubscribe()
	if err := nc.FlushWithContext(ctx); err != nil {
		return nil, fmt.Errorf("subscribing to %q: %w", resultSubject, err)
	}
	if err := nc.PublishMsg(msg); err != nil {
		return nil, fmt.Errorf("request %s on %q: %w", id, subject, err)
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting for the answer to %s on %q: %w", id, resultSubject, err)
		}
		// Answers to other requests are skipped unread; ours are binary
		// mode, as the request was, so the header names them.
		if headerOrEmpty(m.Header, natsPrefix+ExtRequestID) != id {
			continue
		}
		out, _, err := decodeNATS(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnexpectedReply, err)
		}
		if out.Type() != TypeProgress {
			return responseOf(out)
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
