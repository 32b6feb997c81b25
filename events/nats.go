package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/host"
)

type natsConfig struct {
	common
	requestSubject string
	resultSubject  string
	queueGroup     string
	answers        AnswerStore
}

// AnswerStore keeps the data of an answer too large for a message;
// jobs.TaskStore does, in its result bucket.
type AnswerStore interface {
	Offload(ctx context.Context, name string, data []byte, contentType string) (*jobs.ObjectRef, error)
}

// NATS serves requests from a NATS subject: a queue subscription whose
// messages are answered on their reply inbox, or, when they have none,
// published on the result subject.
//
// It does not use nats.go/micro: a micro endpoint hides its subscription,
// so Close could not tell when draining has delivered the last buffered
// message, and answering from a worker goroutine races with micro's
// per-request bookkeeping, whose timings would only cover the hand-off.
type NATS struct {
	nc   *nats.Conn
	cfg  natsConfig
	p    wire.Processor
	gate *wire.Gate
	sub  *nats.Subscription
}

// StartNATS subscribes to the request subject on nc and serves requests
// with inv until Close. Options: WithRequestSubject, WithResultSubject,
// WithQueueGroup, WithSource, WithMaxInFlight, WithLogger.
func StartNATS(nc *nats.Conn, inv Invoker, opts ...NATSOption) (*NATS, error) {
	cfg := natsConfig{
		common:         defaultCommon(),
		requestSubject: DefaultRequestSubject,
		resultSubject:  DefaultResultSubject,
		queueGroup:     DefaultQueueGroup,
	}
	for _, o := range opts {
		o.applyNATS(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.requestSubject == "" || cfg.resultSubject == "" {
		return nil, fmt.Errorf("%w: empty subject", ErrInvalidOption)
	}
	if cfg.requestSubject == cfg.resultSubject {
		return nil, fmt.Errorf("%w: result subject %q is the request subject", ErrInvalidOption, cfg.resultSubject)
	}
	t := &NATS{
		nc:   nc,
		cfg:  cfg,
		p:    wire.Processor{Invoker: inv, Source: cfg.source},
		gate: wire.NewGate(cfg.maxInFlight),
	}
	var err error
	if cfg.queueGroup == "" {
		t.sub, err = nc.Subscribe(cfg.requestSubject, t.onMsg)
	} else {
		t.sub, err = nc.QueueSubscribe(cfg.requestSubject, cfg.queueGroup, t.onMsg)
	}
	if err != nil {
		return nil, fmt.Errorf("subscribing to %q: %w", cfg.requestSubject, err)
	}
	return t, nil
}

// onMsg runs on the subscription's single delivery goroutine, so it only
// hands admitted work to a goroutine; the rest is refused here and now
// rather than queued.
func (t *NATS) onMsg(m *nats.Msg) {
	if t.gate.Enter() {
		go func() {
			defer t.gate.Leave()
			t.serve(m)
		}()
		return
	}
	in, structured, err := wire.DecodeNATS(t.gate.Life, m)
	if err != nil {
		t.send(m, in, structured, t.p.FailureEvent(in, host.Fail(host.CodeInvalidInput, err)))
		return
	}
	cause := fmt.Errorf("%d requests in flight", t.cfg.maxInFlight)
	if t.gate.IsClosing() {
		cause = ErrClosing
	}
	t.send(m, in, structured, t.p.FailureEvent(in, host.Fail(host.CodeBusy, cause)))
}

func (t *NATS) serve(m *nats.Msg) {
	in, structured, err := wire.DecodeNATS(t.gate.Life, m)
	var out event.Event
	if err != nil {
		out = t.p.FailureEvent(in, host.Fail(host.CodeInvalidInput, err))
	} else {
		ctx := t.gate.Life
		if m.Reply == "" {
			ctx = wire.WithProgress(ctx, func(e event.Event) { t.send(m, in, structured, e) })
		}
		out, _ = t.p.Answer(ctx, in)
	}
	t.send(m, in, structured, out)
}

// send answers m on its reply inbox or else on the result subject. An
// answer-typed event without an inbox gets no answer: publishing one could
// feed a loop through a subscription that also matches the result subject.
func (t *NATS) send(m *nats.Msg, in *event.Event, structured bool, out event.Event) {
	if m.Reply == "" && in != nil && wire.IsAnswerType(in.Type()) {
		t.cfg.log.Warn("events: dropped an answer event received as a request",
			"subject", m.Subject, "type", in.Type(), "id", in.ID())
		return
	}
	msg, err := wire.EncodeNATS(t.gate.Life, &out, structured)
	if err == nil {
		if size := msgSize(msg); size > t.nc.MaxPayload() {
			out = t.offload(in, out, size)
			msg, err = wire.EncodeNATS(t.gate.Life, &out, structured)
		}
	}
	if err == nil {
		msg.Subject = m.Reply
		if msg.Subject == "" {
			msg.Subject = t.cfg.resultSubject
		}
		err = t.nc.PublishMsg(msg)
	}
	if err != nil {
		t.cfg.log.Error("events: answer not sent", "subject", m.Subject, "reply", m.Reply,
			"requestid", out.Extensions()[ExtRequestID], "err", err)
	}
}

// offloadTimeout bounds storing one large answer.
const offloadTimeout = 30 * time.Second

// offload turns out, an answer of size bytes that no message can carry,
// into one that refers to its data in the answer store, or, without a
// store or when storing fails, into a too_large failure: a dropped answer
// would leave the client waiting with no word why.
func (t *NATS) offload(in *event.Event, out event.Event, size int64) event.Event {
	fail := func(err error) event.Event {
		return t.p.FailureEvent(in, host.Fail(host.CodeTooLarge, err))
	}
	if t.cfg.answers == nil || out.Type() != TypeResult {
		return fail(fmt.Errorf("events: the answer has %d bytes, over the NATS max payload of %d, and the host keeps no large answers (JetStream off)",
			size, t.nc.MaxPayload()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), offloadTimeout)
	defer cancel()
	ref, err := t.cfg.answers.Offload(ctx, out.ID(), out.Data(), out.DataContentType())
	if err != nil {
		t.cfg.log.Error("events: large answer not stored", "requestid", out.Extensions()[ExtRequestID], "err", err)
		return fail(fmt.Errorf("events: the answer has %d bytes, over the NATS max payload, and could not be stored: %w", size, err))
	}
	data, err := json.Marshal(ref)
	if err != nil {
		return fail(err)
	}
	out.SetDataContentType(jobs.MediaObjectRef)
	out.DataEncoded = data
	return out
}

// msgSize is what m takes of the server's max payload: its data and its
// headers as the protocol writes them.
func msgSize(m *nats.Msg) int64 {
	n := len(m.Data) + len("NATS/1.0\r\n\r\n")
	for k, vs := range m.Header {
		for _, v := range vs {
			n += len(k) + len(v) + len(": \r\n")
		}
	}
	return int64(n)
}

// Close drains the subscription, so messages the client already holds are
// still served, then waits for the invocations in flight until ctx ends;
// those still running then are cancelled, and Close returns once they are
// answered, with ErrDrainIncomplete.
func (t *NATS) Close(ctx context.Context) error {
	closed := t.sub.StatusChanged(nats.SubscriptionClosed)
	switch err := t.sub.Drain(); {
	case err == nil:
		select {
		case <-closed:
		case <-ctx.Done():
			// Stop delivery outright; a callback already under way answers busy.
			_ = t.sub.Unsubscribe()
		}
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrBadSubscription):
		// Nothing more can be delivered: closed earlier, or with the connection.
	default:
		return fmt.Errorf("draining %q: %w", t.cfg.requestSubject, err)
	}
	return t.gate.Close(ctx)
}
