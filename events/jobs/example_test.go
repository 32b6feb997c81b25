package jobs_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/natsd"
)

// upper stands in for the host: it "reads" a document as its text in
// capitals.
type upper struct{}

func (upper) Invoke(_ context.Context, req *host.Request) (*host.Response, error) {
	text := strings.ToUpper(string(req.Data))
	return &host.Response{ID: req.ID, Device: "cpu", Text: text,
		Result: function.Result{Lines: []function.Line{{Text: text, Confidence: 1}}}}, nil
}

// A worker runs jobs from the work queue; a client queues one, and the task
// store tells how it went and keeps its result.
func ExampleStart() {
	srv, err := natsd.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	w, err := jobs.Start(ctx, js, upper{})
	if err != nil {
		panic(err)
	}
	defer w.Close(ctx)
	answers, err := nc.SubscribeSync(jobs.DefaultResultSubject)
	if err != nil {
		panic(err)
	}

	client := events.NewClient(nc, events.WithJetStream(js))
	id, err := client.Submit(ctx, "ocr.jobs.letters", events.Document{Data: []byte("dear sir")})
	if err != nil {
		panic(err)
	}
	answer, err := answers.NextMsgWithContext(ctx)
	if err != nil {
		panic(err)
	}
	task, err := w.Tasks().Get(ctx, id)
	if err != nil {
		panic(err)
	}
	result, err := w.Tasks().Result(ctx, task)
	if err != nil {
		panic(err)
	}
	fmt.Println(answer.Header.Get("ce-type"), task.State, strings.Contains(string(result), `"text":"DEAR SIR"`))
	// Output: com.ocrhost.ocr.result completed true
}
