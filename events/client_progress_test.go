package events

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// progressHost reports pages 2, 4 and 5 of 5 before answering, and first
// publishes a result for another request on the result subject, which the
// client must pass over.
type progressHost struct {
	nc   *nats.Conn
	fail *host.Failure
}

func (p progressHost) Invoke(ctx context.Context, req *host.Request) (*host.Response, error) {
	other := (&wire.Processor{Source: "/other"}).NewAnswer(nil, TypeResult, []byte(`{"id":"other"}`))
	other.SetExtension(ExtRequestID, "someone-else")
	msg, err := wire.EncodeNATS(ctx, &other, false)
	if err != nil {
		return nil, err
	}
	msg.Subject = DefaultResultSubject
	if err := p.nc.PublishMsg(msg); err != nil {
		return nil, err
	}
	for _, done := range []int{2, 4, 5} {
		if req.Progress == nil {
			return nil, errors.New("no progress callback in publish mode")
		}
		req.Progress(done, 5)
	}
	if p.fail != nil {
		return nil, p.fail
	}
	r := eventstest.CannedResponse()
	r.ID = req.ID
	return r, nil
}

func TestRequestWithProgress(t *testing.T) {
	srv, cli := natsPair(t)
	ph := &progressHost{nc: srv}
	startNATS(t, srv, ph)
	var got []string
	resp, err := NewClient(cli).RequestWithProgress(eventstest.Ctx(t), DefaultRequestSubject, DefaultResultSubject, Document{Data: eventstest.PNG, ContentType: "image/png"}, func(done, total int) { got = append(got, fmt.Sprintf("%d/%d", done, total)) })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[2/5 4/5 5/5]" {
		t.Errorf("progress %v, want [2/5 4/5 5/5]", got)
	}
	if resp.ID == "other" || len(resp.Lines) != 2 || resp.Lines[0].Text != "Hello" {
		t.Errorf("response %+v, want the canned one", resp)
	}

	ph.fail = host.Fail(host.CodeInvalidInput, errors.New("broken pdf"))
	_, err = NewClient(cli).RequestWithProgress(eventstest.Ctx(t), DefaultRequestSubject, DefaultResultSubject, Document{Data: eventstest.PNG}, nil)
	if f := host.AsFailure(err); f.Code != host.CodeInvalidInput {
		t.Errorf("failure %v, want invalid_input", err)
	}

	if _, err := NewClient(cli).RequestWithProgress(eventstest.Ctx(t), "same", "same", Document{Data: eventstest.PNG}, nil); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("request subject as result subject: %v, want ErrInvalidOption", err)
	}
}
