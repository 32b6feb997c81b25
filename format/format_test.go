package format_test

import (
	"errors"
	"testing"

	"github.com/ocrhost/ocrhost/format"
)

func TestParse(t *testing.T) {
	for _, f := range format.All {
		got, err := format.Parse(string(f))
		if err != nil || got != f {
			t.Errorf("Parse(%q) = %q, %v", f, got, err)
		}
	}
	if got, err := format.Parse(""); err != nil || got != format.JSON {
		t.Errorf(`Parse("") = %q, %v; want json`, got, err)
	}
	for _, bad := range []string{"HOCR", "docx", " json"} {
		if _, err := format.Parse(bad); !errors.Is(err, format.ErrUnknown) {
			t.Errorf("Parse(%q): %v, want ErrUnknown", bad, err)
		}
	}
}
