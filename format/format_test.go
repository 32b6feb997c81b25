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

func TestForMediaType(t *testing.T) {
	for mt, want := range map[string]format.Format{
		"application/pdf": format.PDF, "Application/PDF": format.PDF, "text/plain; charset=utf-8": format.Text,
		"application/alto+xml": format.ALTO, "application/json": format.JSON, "text/tab-separated-values": format.TSV,
	} {
		if got, ok := format.ForMediaType(mt); !ok || got != want {
			t.Errorf("ForMediaType(%q) = %q, %v; want %q", mt, got, ok, want)
		}
	}
	for _, mt := range []string{"", "text/html", "image/tiff"} {
		if got, ok := format.ForMediaType(mt); ok {
			t.Errorf("ForMediaType(%q) = %q", mt, got)
		}
	}
}
