package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/host"
)

// ClientSource is the source attribute of requests sent by Request.
const ClientSource = "/ocrhost/client"

// Request sends doc as a binary-mode request event to subject and waits,
// until ctx ends, for the answer. Without options the event's data is doc
// itself with contentType ("" lets the host sniff the format); with options
// it is the JSON form. A failure answer is returned as a *host.Failure.
func Request(ctx context.Context, nc *nats.Conn, subject string, doc []byte, contentType string, options json.RawMessage) (*host.Response, error) {
	e := event.New()
	e.SetID(uuid.NewString())
	e.SetSource(ClientSource)
	e.SetType(TypeRequest)
	e.SetTime(time.Now())
	if len(options) == 0 {
		if contentType == "" {
			contentType = mediaBinary
		}
		e.SetDataContentType(contentType)
		e.DataEncoded = doc
	} else {
		data, err := json.Marshal(requestEnvelope{Data: doc, ContentType: contentType, Options: options})
		if err != nil {
			return nil, fmt.Errorf("%w: options: %w", ErrInvalidData, err)
		}
		e.SetDataContentType(mediaJSON)
		e.DataEncoded = data
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
	switch out.Type() {
	case TypeResult:
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
