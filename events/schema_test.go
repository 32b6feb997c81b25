package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
)

// loadSchema compiles result.schema.json. Every object in it sets
// additionalProperties false, so the schema cannot fall behind the Go types.
func loadSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// validate checks JSON document b against sch.
func validate(t *testing.T, sch *jsonschema.Schema, b []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(v)
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// answerData runs one request through a processor and returns the answer
// event's data, as sent.
func answerData(t *testing.T, inv Invoker) []byte {
	t.Helper()
	in := event.New()
	in.SetID("s1")
	in.SetSource("/test")
	in.SetType(TypeRequest)
	in.SetDataContentType("image/png")
	in.DataEncoded = eventstest.PNG
	p := wire.Processor{Invoker: inv, Source: DefaultSource}
	out, _ := p.Answer(context.Background(), &in)
	return out.Data()
}

// zeroHost answers with a response whose optional parts are all zero.
type zeroHost struct{}

func (zeroHost) Invoke(context.Context, *host.Request) (*host.Response, error) {
	return &host.Response{Device: "cpu"}, nil
}

func TestSchemaMatchesAnswers(t *testing.T) {
	sch := loadSchema(t)
	full := eventstest.CannedResponse()
	full.Fallback = true
	// Every optional part filled: words, blocks, tables, dropped lines, pages, Markdown.
	full.Lines = append([]function.Line(nil), full.Lines...)
	full.Lines[0].Words = []function.Word{{Text: "w", Confidence: 0.9, Box: full.Lines[0].Box}}
	zero := 0
	full.Blocks = []function.Block{{Type: "table", Box: [4]float64{1, 2, 3, 4}, Lines: []int{0}, Table: &zero}}
	full.Tables = []function.Table{{Box: [4]float64{1, 2, 3, 4}, Rows: 1, Cols: 2,
		Cells: []function.Cell{{Row: 0, Col: 0, RowSpan: 1, ColSpan: 2, Text: "head", Box: [4]float64{1, 2, 3, 4}}},
		HTML:  `<table><tr><td colspan="2">head</td></tr></table>`, Markdown: "| head |  |\n| --- | --- |\n"}}
	full.Dropped = 1
	full.Markdown = "text"
	full.Pages = []host.Page{{Number: 1, Method: "mixed", Width: 640, Height: 480, Lines: full.Lines, Blocks: full.Blocks, Tables: full.Tables, Dropped: 1}}
	failing := newFakeHost()
	failing.fail = host.Fail(host.CodeBusy, fmt.Errorf("queue full"))
	for name, data := range map[string][]byte{
		"result":                answerData(t, &fixedHost{resp: full}),
		"result with zero data": answerData(t, zeroHost{}),
		"failure":               answerData(t, failing),
	} {
		if err := validate(t, sch, data); err != nil {
			t.Errorf("%s %s: %v", name, data, err)
		}
	}
}

// TestSchemaRejects shows the check is not vacuous: each broken document
// must fail.
func TestSchemaRejects(t *testing.T) {
	sch := loadSchema(t)
	good := answerData(t, &fixedHost{resp: eventstest.CannedResponse()})
	breaks := map[string]func(m map[string]any){
		"no timings.total_ns": func(m map[string]any) { delete(m["timings"].(map[string]any), "total_ns") },
		"width as string":     func(m map[string]any) { m["width"] = "640" },
		"three corners": func(m map[string]any) {
			l := m["lines"].([]any)[0].(map[string]any)
			l["box"] = l["box"].([]any)[:3]
		},
		"no device": func(m map[string]any) { delete(m, "device") },
		"a cell without its span": func(m map[string]any) {
			m["tables"] = []any{map[string]any{"box": []any{0, 0, 1, 1}, "rows": 1, "cols": 1, "html": "", "markdown": "",
				"cells": []any{map[string]any{"row": 0, "col": 0, "text": "x", "box": []any{0, 0, 1, 1}}}}}
		},
		"a word without a box": func(m map[string]any) {
			l := m["lines"].([]any)[0].(map[string]any)
			l["words"] = []any{map[string]any{"text": "w", "confidence": 0.5}}
		},
		"an undeclared member": func(m map[string]any) { m["Width"] = 640 },
		"a page read by an unknown method": func(m map[string]any) {
			m["pages"] = []any{map[string]any{"number": 1, "method": "guess", "width": 1, "height": 1, "lines": []any{}}}
		},
		"a page without its method": func(m map[string]any) {
			m["pages"] = []any{map[string]any{"number": 1, "width": 1, "height": 1, "lines": []any{}}}
		},
		"failure with bad code": func(m map[string]any) { clear(m); m["code"], m["message"], m["retryable"] = "nope", "x", false },
	}
	for name, mutate := range breaks {
		m := decodeAny(t, good).(map[string]any)
		mutate(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, sch, b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// fixedHost answers every request with resp.
type fixedHost struct{ resp *host.Response }

func (f *fixedHost) Invoke(context.Context, *host.Request) (*host.Response, error) {
	return f.resp, nil
}
