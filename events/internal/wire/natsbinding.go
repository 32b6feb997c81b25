package wire

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// The CloudEvents NATS binding in binary mode: attributes as "ce-" headers,
// datacontenttype as "content-type", data as the body. sdk-go's core NATS
// binding is structured-only, so the mapping lives here. Header names are
// matched case-insensitively on input (NATS headers are case-sensitive and
// clients differ) and written in lower case, as the binding spec shows them.
const (
	HeaderPrefix      = "ce-"
	HeaderContentType = "content-type"
)

var natsSpecs = spec.WithPrefix(HeaderPrefix)

// natsMessage is a received *nats.Msg as a binding.Message.
type natsMessage struct {
	header  nats.Header
	body    []byte
	format  format.Format
	version spec.Version
}

var (
	_ binding.Message               = (*natsMessage)(nil)
	_ binding.MessageMetadataReader = (*natsMessage)(nil)
)

func newNATSMessage(m *nats.Msg) *natsMessage {
	nm := &natsMessage{header: m.Header, body: m.Data}
	if sv, ok := HeaderValue(m.Header, natsSpecs.PrefixedSpecVersionName()); ok {
		nm.version = natsSpecs.Version(sv)
		return nm
	}
	if nm.format = format.Lookup(HeaderOrEmpty(m.Header, HeaderContentType)); nm.format != nil {
		return nm
	}
	// Structured senders on NATS often set no content type at all.
	if b := bytes.TrimLeft(m.Data, " \t\r\n"); len(b) > 0 && b[0] == '{' {
		nm.format = format.JSON
	}
	return nm
}

func HeaderValue(h nats.Header, name string) (string, bool) {
	for k, v := range h {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return v[0], true
		}
	}
	return "", false
}

func HeaderOrEmpty(h nats.Header, name string) string {
	v, _ := HeaderValue(h, name)
	return v
}

func (m *natsMessage) ReadEncoding() binding.Encoding {
	switch {
	case m.version != nil:
		return binding.EncodingBinary
	case m.format == format.JSONBatch:
		return binding.EncodingBatch
	case m.format != nil:
		return binding.EncodingStructured
	}
	return binding.EncodingUnknown
}

func (m *natsMessage) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.format == nil || m.version != nil {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, m.format, bytes.NewReader(m.body))
}

func (m *natsMessage) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	if m.version == nil {
		return binding.ErrNotBinary
	}
	for k, v := range m.header {
		if len(v) == 0 {
			continue
		}
		var err error
		name := strings.ToLower(k)
		switch {
		case name == HeaderContentType:
			err = w.SetAttribute(m.version.AttributeFromKind(spec.DataContentType), v[0])
		case m.version.Attribute(name) != nil:
			err = w.SetAttribute(m.version.Attribute(name), v[0])
		case strings.HasPrefix(name, HeaderPrefix):
			err = w.SetExtension(name[len(HeaderPrefix):], v[0])
		}
		if err != nil {
			return err
		}
	}
	if len(m.body) > 0 {
		return w.SetData(bytes.NewReader(m.body))
	}
	return nil
}

// GetAttribute and GetExtension serve binding.Write's transformers, which
// require them of binary messages.
func (m *natsMessage) GetAttribute(k spec.Kind) (spec.Attribute, any) {
	if m.version == nil {
		return nil, nil
	}
	a := m.version.AttributeFromKind(k)
	if a == nil {
		return nil, nil
	}
	name := a.PrefixedName()
	if k == spec.DataContentType {
		name = HeaderContentType
	}
	if v, ok := HeaderValue(m.header, name); ok {
		return a, v
	}
	return a, nil
}

func (m *natsMessage) GetExtension(name string) any {
	if v, ok := HeaderValue(m.header, HeaderPrefix+name); ok {
		return v
	}
	return nil
}

func (m *natsMessage) Finish(error) error { return nil }

// natsWriter builds an outgoing *nats.Msg from an event.
type natsWriter struct{ msg *nats.Msg }

var (
	_ binding.StructuredWriter = (*natsWriter)(nil)
	_ binding.BinaryWriter     = (*natsWriter)(nil)
)

func (w *natsWriter) SetStructuredEvent(_ context.Context, f format.Format, r io.Reader) error {
	w.msg.Header.Set(HeaderContentType, f.MediaType())
	return w.SetData(r)
}

func (w *natsWriter) Start(context.Context) error { return nil }
func (w *natsWriter) End(context.Context) error   { return nil }

func (w *natsWriter) SetAttribute(a spec.Attribute, value any) error {
	name := HeaderPrefix + a.Name()
	if a.Kind() == spec.DataContentType {
		name = HeaderContentType
	}
	return w.set(name, value)
}

func (w *natsWriter) SetExtension(name string, value any) error {
	return w.set(HeaderPrefix+name, value)
}

func (w *natsWriter) set(name string, value any) error {
	if value == nil {
		w.msg.Header.Del(name)
		return nil
	}
	s, err := types.Format(value)
	if err != nil {
		return err
	}
	w.msg.Header.Set(name, s)
	return nil
}

func (w *natsWriter) SetData(r io.Reader) error {
	b, err := io.ReadAll(r)
	w.msg.Data = b
	return err
}

// EncodeNATS encodes e as a NATS message without a subject, in binary mode
// unless structured is set.
func EncodeNATS(ctx context.Context, e *event.Event, structured bool) (*nats.Msg, error) {
	if structured {
		ctx = binding.WithForceStructured(ctx)
	}
	w := &natsWriter{msg: &nats.Msg{Header: nats.Header{}}}
	if _, err := binding.Write(ctx, binding.ToMessage(e), w, w); err != nil {
		return nil, err
	}
	return w.msg, nil
}

// DecodeNATS reads the CloudEvent of m (see DecodeEvent) and whether it came
// in structured mode, which its answer then uses too.
func DecodeNATS(ctx context.Context, m *nats.Msg) (*event.Event, bool, error) {
	nm := newNATSMessage(m)
	e, err := DecodeEvent(ctx, nm)
	return e, nm.ReadEncoding() == binding.EncodingStructured, err
}
