package jobs

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/wire"
)

// submitJob queues doc as events.Client's Submit does, from the same
// parts (this package's tests cannot import events, which imports it).
func submitJob(ctx context.Context, js jetstream.JetStream, subject string, doc []byte, contentType string, options json.RawMessage, opts ...StoreOption) (string, error) {
	id := uuid.NewString()
	p, err := PreparePayload(ctx, js, js.Conn().MaxPayload(), id, doc, contentType, options, opts...)
	if err != nil {
		return "", err
	}
	e, err := wire.NewRequest(id, p.Data, p.ContentType, p.Options)
	if err != nil {
		return "", err
	}
	msg, err := wire.EncodeNATS(ctx, &e, false)
	if err != nil {
		return "", err
	}
	msg.Subject = subject
	return id, Queue(ctx, js, msg, id, opts...)
}
