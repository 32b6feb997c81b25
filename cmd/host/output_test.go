package main

import (
	"encoding/json"
	"testing"
)

// TestRequestOptions: --format joins the --options object, and both are
// checked as the host checks a request's.
func TestRequestOptions(t *testing.T) {
	raw, err := requestOptions(`{"dpi":150}`, "alto")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m["format"] != "alto" || m["dpi"] != 150.0 {
		t.Errorf("options %s (%v)", raw, err)
	}
	if raw, err := requestOptions(`{"format":"tsv"}`, ""); err != nil || string(raw) != `{"format":"tsv"}` {
		t.Errorf("format in --options: %s, %v", raw, err)
	}
	for _, c := range [][2]string{{"", "docx"}, {`{"format":"docx"}`, ""}, {`{"dpi":1}`, "pdf"}, {`[1]`, "pdf"}} {
		if _, err := requestOptions(c[0], c[1]); err == nil {
			t.Errorf("options %q format %q accepted", c[0], c[1])
		}
	}
}
