package events

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
)

// malformedCase is a request every transport must answer invalid_input.
// Header names are lower case; HTTP canonicalises them.
type malformedCase struct {
	name    string
	headers map[string]string
	body    []byte
	want    error
}

func binaryCase(name string, change func(h map[string]string), body []byte, want error) malformedCase {
	h := map[string]string{}
	for k, v := range eventstest.BinaryHeaders("m1") {
		h[k] = v[0]
	}
	change(h)
	return malformedCase{name: name, headers: h, body: body, want: want}
}

func jsonCase(name, body string, want error) malformedCase {
	return binaryCase(name, func(h map[string]string) { h["content-type"] = "application/json" }, []byte(body), want)
}

var pngB64 = base64.StdEncoding.EncodeToString(eventstest.PNG)

var malformedCases = []malformedCase{
	{name: "not a CloudEvent", headers: map[string]string{"content-type": "image/png"}, body: eventstest.PNG, want: ErrNotCloudEvent},
	{name: "JSON without specversion", headers: map[string]string{"content-type": "application/cloudevents+json"}, body: []byte(`{"id":"x","source":"/s","type":"t"}`), want: ErrNotCloudEvent},
	{name: "structured garbage", headers: map[string]string{"content-type": "application/cloudevents+json"}, body: []byte("not json"), want: ErrNotCloudEvent},
	binaryCase("missing id", func(h map[string]string) { delete(h, "ce-id") }, eventstest.PNG, ErrInvalidEvent),
	binaryCase("missing source", func(h map[string]string) { delete(h, "ce-source") }, eventstest.PNG, ErrInvalidEvent),
	binaryCase("missing type", func(h map[string]string) { delete(h, "ce-type") }, eventstest.PNG, ErrInvalidEvent),
	binaryCase("specversion 0.3", func(h map[string]string) { h["ce-specversion"] = "0.3" }, eventstest.PNG, ErrInvalidEvent),
	binaryCase("unknown specversion", func(h map[string]string) { h["ce-specversion"] = "9.9" }, eventstest.PNG, ErrNotCloudEvent),
	binaryCase("empty data", func(map[string]string) {}, nil, ErrInvalidData),
	binaryCase("own result type", func(h map[string]string) { h["ce-type"] = TypeResult }, eventstest.PNG, ErrInvalidEvent),
	binaryCase("own failure type", func(h map[string]string) { h["ce-type"] = TypeFailure }, eventstest.PNG, ErrInvalidEvent),
	binaryCase("bad content type", func(h map[string]string) { h["content-type"] = "image/" }, eventstest.PNG, ErrInvalidEvent),
	jsonCase("bad base64", `{"data":"***"}`, ErrInvalidData),
	jsonCase("bad JSON", `{"data":`, ErrInvalidData),
	jsonCase("url field", `{"data":"`+pngB64+`","url":"http://example.com/a.png"}`, ErrInvalidData),
	jsonCase("empty envelope data", `{"data":""}`, ErrInvalidData),
	jsonCase("trailing JSON", `{"data":"`+pngB64+`"} {}`, ErrInvalidData),
	jsonCase("JSON as document format", `{"data":"`+pngB64+`","content_type":"application/json"}`, ErrInvalidData),
}

func natsMsgOf(c malformedCase) *nats.Msg {
	m := &nats.Msg{Header: nats.Header{}, Data: c.body}
	for k, v := range c.headers {
		m.Header.Set(k, v)
	}
	return m
}

// TestDecodeMalformed checks each malformed kind is refused for its own
// reason, not by accident of another check.
func TestDecodeMalformed(t *testing.T) {
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			e, _, err := wire.DecodeNATS(context.Background(), natsMsgOf(c))
			if err == nil {
				_, err = wire.RequestFrom(e)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
		})
	}
}

func TestDecodeRequestForms(t *testing.T) {
	cases := []struct {
		name     string
		headers  nats.Header
		body     []byte
		wantCT   string
		wantData []byte
		wantOpts string
	}{
		{
			name: "binary, header names in any case, parameters dropped",
			headers: nats.Header{"Ce-Specversion": {"1.0"}, "CE-ID": {"a"}, "ce-Source": {"/s"}, "ce-type": {"x.y"},
				"Content-Type": {"Image/PNG; q=1"}},
			body: eventstest.PNG, wantCT: "image/png", wantData: eventstest.PNG,
		},
		{
			name:    "binary octet-stream means sniff",
			headers: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"a"}, "ce-source": {"/s"}, "ce-type": {"x"}, "content-type": {"application/octet-stream"}},
			body:    eventstest.PNG, wantCT: "", wantData: eventstest.PNG,
		},
		{
			name:    "binary without content type means sniff",
			headers: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"a"}, "ce-source": {"/s"}, "ce-type": {"x"}},
			body:    eventstest.PNG, wantCT: "", wantData: eventstest.PNG,
		},
		{
			name:    "JSON form with options",
			headers: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"a"}, "ce-source": {"/s"}, "ce-type": {"x"}, "content-type": {"application/json; charset=utf-8"}},
			body:    []byte(`{"data":"` + pngB64 + `","content_type":"image/png","options":{"det_limit":960}}`),
			wantCT:  "image/png", wantData: eventstest.PNG, wantOpts: `{"det_limit":960}`,
		},
		{
			name:    "JSON form, null options, no content type",
			headers: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"a"}, "ce-source": {"/s"}, "ce-type": {"x"}, "content-type": {"application/json"}},
			body:    []byte(`{"data":"` + pngB64 + `","options":null}`),
			wantCT:  "", wantData: eventstest.PNG,
		},
		{
			name:   "structured, inline data without datacontenttype is JSON",
			body:   []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"x","data":{"data":"` + pngB64 + `","content_type":"image/webp"}}`),
			wantCT: "image/webp", wantData: eventstest.PNG,
		},
		{
			name:   "structured without content-type header",
			body:   []byte(` {"specversion":"1.0","id":"a","source":"/s","type":"x","datacontenttype":"image/tiff","data_base64":"` + pngB64 + `"}`),
			wantCT: "image/tiff", wantData: eventstest.PNG,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _, err := wire.DecodeNATS(context.Background(), &nats.Msg{Header: c.headers, Data: c.body})
			if err != nil {
				t.Fatal(err)
			}
			req, err := wire.RequestFrom(e)
			if err != nil {
				t.Fatal(err)
			}
			if req.ID != "a" || req.Source != "/s" {
				t.Errorf("id %q source %q", req.ID, req.Source)
			}
			if req.ContentType != c.wantCT || !bytes.Equal(req.Data, c.wantData) || string(req.Options) != c.wantOpts {
				t.Errorf("got content type %q, data %q, options %q", req.ContentType, req.Data, req.Options)
			}
		})
	}
}

// TestNATSBindingRoundTrip checks both modes carry every attribute,
// extensions included, and the data unchanged.
func TestNATSBindingRoundTrip(t *testing.T) {
	e := event.New()
	e.SetID("r1")
	e.SetSource("/ocrhost")
	e.SetType(TypeResult)
	e.SetSubject("doc 7/ü")
	e.SetExtension(ExtRequestID, "q1")
	e.SetDataContentType("application/json")
	e.DataEncoded = []byte(`{"id":"q1"}`)
	for _, structured := range []bool{false, true} {
		msg, err := wire.EncodeNATS(context.Background(), &e, structured)
		if err != nil {
			t.Fatal(err)
		}
		if got := msg.Header.Get("ce-id"); (got == "r1") == structured {
			t.Errorf("structured=%v: ce-id header %q", structured, got)
		}
		wantCT := "application/json"
		if structured {
			wantCT = "application/cloudevents+json"
		}
		if got := msg.Header.Get(wire.HeaderContentType); got != wantCT {
			t.Errorf("structured=%v: content-type %q, want %q", structured, got, wantCT)
		}
		back, gotStructured, err := wire.DecodeNATS(context.Background(), msg)
		if err != nil {
			t.Fatal(err)
		}
		if gotStructured != structured {
			t.Errorf("decoded structured=%v, want %v", gotStructured, structured)
		}
		if back.ID() != "r1" || back.Subject() != "doc 7/ü" || back.Type() != TypeResult ||
			back.Extensions()[ExtRequestID] != "q1" || string(back.Data()) != `{"id":"q1"}` {
			t.Errorf("structured=%v: round trip gave %v", structured, back)
		}
	}
}
