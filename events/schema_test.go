package events

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ocrhost/ocrhost/host"
)

// schema is the subset of JSON Schema result.schema.json uses.
type schema struct {
	Ref                  string             `json:"$ref"`
	OneOf                []*schema          `json:"oneOf"`
	Type                 string             `json:"type"`
	Required             []string           `json:"required"`
	Properties           map[string]*schema `json:"properties"`
	AdditionalProperties *schema            `json:"additionalProperties"`
	Items                *schema            `json:"items"`
	MinItems             *int               `json:"minItems"`
	MaxItems             *int               `json:"maxItems"`
	Minimum              *float64           `json:"minimum"`
	Maximum              *float64           `json:"maximum"`
	Enum                 []any              `json:"enum"`
	Defs                 map[string]*schema `json:"$defs"`
}

func loadSchema(t *testing.T) *schema {
	t.Helper()
	b, err := os.ReadFile("result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// check validates v (as decoded by encoding/json into any) against s. With
// strict, properties the schema does not declare are errors too, so the
// schema cannot fall behind the Go types.
func (root *schema) check(s *schema, v any, path string, strict bool) error {
	if s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/$defs/")
		if !ok || root.Defs[name] == nil {
			return fmt.Errorf("%s: unresolvable $ref %q", path, s.Ref)
		}
		return root.check(root.Defs[name], v, path, strict)
	}
	if len(s.OneOf) > 0 {
		n := 0
		for _, alt := range s.OneOf {
			if root.check(alt, v, path, strict) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: matches %d of oneOf", path, n)
		}
		return nil
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, v) {
		return fmt.Errorf("%s: %v not in %v", path, v, s.Enum)
	}
	switch s.Type {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T is not an object", path, v)
		}
		for _, k := range s.Required {
			if _, ok := obj[k]; !ok {
				return fmt.Errorf("%s: missing %q", path, k)
			}
		}
		for k, val := range obj {
			sub := s.Properties[k]
			if sub == nil {
				sub = s.AdditionalProperties
			}
			if sub == nil {
				if strict {
					return fmt.Errorf("%s: undeclared property %q", path, k)
				}
				continue
			}
			if err := root.check(sub, val, path+"."+k, strict); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T is not an array", path, v)
		}
		if s.MinItems != nil && len(arr) < *s.MinItems || s.MaxItems != nil && len(arr) > *s.MaxItems {
			return fmt.Errorf("%s: %d items", path, len(arr))
		}
		for i, item := range arr {
			if err := root.check(s.Items, item, fmt.Sprintf("%s[%d]", path, i), strict); err != nil {
				return err
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: %T is not a string", path, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %T is not a boolean", path, v)
		}
	case "number", "integer":
		f, ok := v.(float64)
		if !ok {
			return fmt.Errorf("%s: %T is not a number", path, v)
		}
		if s.Type == "integer" && f != math.Trunc(f) {
			return fmt.Errorf("%s: %v is not an integer", path, f)
		}
		if s.Minimum != nil && f < *s.Minimum || s.Maximum != nil && f > *s.Maximum {
			return fmt.Errorf("%s: %v out of range", path, f)
		}
	case "":
	default:
		return fmt.Errorf("%s: checker lacks type %q", path, s.Type)
	}
	return nil
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
	in.DataEncoded = pngDoc
	p := processor{inv: inv, source: DefaultSource}
	out, _ := p.answer(context.Background(), &in)
	return out.Data()
}

// zeroHost answers with a response whose optional parts are all zero.
type zeroHost struct{}

func (zeroHost) Invoke(context.Context, *host.Request) (*host.Response, error) {
	return &host.Response{Device: "cpu"}, nil
}

func TestSchemaMatchesAnswers(t *testing.T) {
	root := loadSchema(t)
	full := cannedResponse()
	full.Fallback = true
	failing := newFakeHost()
	failing.fail = host.Fail(host.CodeBusy, fmt.Errorf("queue full"))
	for name, data := range map[string][]byte{
		"result":                answerData(t, &fixedHost{resp: full}),
		"result with zero data": answerData(t, zeroHost{}),
		"failure":               answerData(t, failing),
	} {
		v := decodeAny(t, data)
		if err := root.check(root, v, "$", true); err != nil {
			t.Errorf("%s %s: %v", name, data, err)
		}
	}
}

// TestSchemaRejects shows the check is not vacuous: each broken document
// must fail.
func TestSchemaRejects(t *testing.T) {
	root := loadSchema(t)
	good := answerData(t, &fixedHost{resp: cannedResponse()})
	breaks := map[string]func(m map[string]any){
		"no timings.total_ns": func(m map[string]any) { delete(m["timings"].(map[string]any), "total_ns") },
		"width as string":     func(m map[string]any) { m["width"] = "640" },
		"three corners": func(m map[string]any) {
			l := m["lines"].([]any)[0].(map[string]any)
			l["box"] = l["box"].([]any)[:3]
		},
		"no device":             func(m map[string]any) { delete(m, "device") },
		"failure with bad code": func(m map[string]any) { clear(m); m["code"], m["message"], m["retryable"] = "nope", "x", false },
	}
	for name, mutate := range breaks {
		m := decodeAny(t, good).(map[string]any)
		mutate(m)
		if err := root.check(root, m, "$", false); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// fixedHost answers every request with resp.
type fixedHost struct{ resp *host.Response }

func (f *fixedHost) Invoke(context.Context, *host.Request) (*host.Response, error) {
	return f.resp, nil
}
