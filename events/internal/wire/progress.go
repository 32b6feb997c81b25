package wire

import (
	"context"
	"encoding/json"

	"github.com/cloudevents/sdk-go/v2/event"
)

// TypeProgress is the type of progress events: in publish and JetStream
// modes a multi-page document reports after each batch of pages, on the
// result subject, correlated by requestid like the result.
const TypeProgress = "com.ocrhost.ocr.progress"

// ProgressData is a progress event's data.
type ProgressData struct {
	RequestID  string `json:"request_id"`
	PagesDone  int    `json:"pages_done"`
	PagesTotal int    `json:"pages_total"`
}

type progressKey struct{}

// WithProgress makes invocations under ctx send progress events through
// send; transports whose answer is a single reply (request-reply, HTTP)
// leave it unset.
func WithProgress(ctx context.Context, send func(event.Event)) context.Context {
	return context.WithValue(ctx, progressKey{}, send)
}

// progressFunc is the host.Request Progress callback for in, or nil.
func (p *Processor) progressFunc(ctx context.Context, in *event.Event) func(done, total int) {
	send, ok := ctx.Value(progressKey{}).(func(event.Event))
	if !ok {
		return nil
	}
	return func(done, total int) {
		data, err := json.Marshal(ProgressData{RequestID: in.ID(), PagesDone: done, PagesTotal: total})
		if err != nil {
			return
		}
		send(p.NewAnswer(in, TypeProgress, data))
	}
}
