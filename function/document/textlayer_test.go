package document

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"
)

// TestAddText lays runs over page 1 (which has text already), page 2
// (Latin, Cyrillic, Greek) and page 3 (CJK, and characters beyond the
// BMP) of a three-page PDF whose pages 2 and 3 have none: the file grows
// by a glyphless font of the characters used and the text, a few KB, and
// pdftotext reads page 1 as it was (no second layer) and every run on
// pages 2 and 3.
func TestAddText(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skipf("pdftotext not installed (Debian poppler-utils, see .ci/run): %v", err)
	}
	r := renderer(t)
	in := textThenScans(t)
	latin := []TextRun{
		{Text: "Invisible ", Size: 20, Matrix: [6]float64{1, 0, 0, -1, 20, 60}},
		{Text: "Привет κόσμε", Size: 20, Matrix: [6]float64{1, 0, 0, -1, 20, 120}},
	}
	cjk := []TextRun{
		{Text: "中文识别 ", Size: 20, Matrix: [6]float64{1, 0, 0, -1, 20, 60}},
		{Text: "𝔸𠀀", Size: 20, Matrix: [6]float64{1, 0, 0, -1, 20, 120}},
	}
	pages := []TextPage{{Number: 1, Width: 400, Height: 600, Runs: latin}, {Number: 2, Width: 400, Height: 600, Runs: latin},
		{Number: 3, Width: 400, Height: 600, Runs: cjk}}
	out, err := r.AddText(context.Background(), in, pages)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes in, %d out", len(in), len(out))
	if extra := len(out) - len(in); extra <= 0 || extra > 6_000 {
		t.Errorf("output %d bytes for an input of %d", len(out), len(in))
	}
	path := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(page string) string {
		b, err := exec.Command(pdftotext, "-f", page, "-l", page, path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(string(b)), " ")
	}
	if got := read("1"); got != "first" {
		t.Errorf("page 1 reads %q", got)
	}
	if got := read("2"); got != "Invisible Привет κόσμε" {
		t.Errorf("page 2 reads %q", got)
	}
	if got := read("3"); got != "中文识别 𝔸𠀀" {
		t.Errorf("page 3 reads %q", got)
	}
	all, err := exec.Command(pdftotext, path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(all), "\f"); n != 3 {
		t.Errorf("%d pages, want 3", n)
	}
}

// textThenScans is a PDF whose page 1 carries the text "first" and
// whose pages 2 and 3 carry none, as scans.
func textThenScans(t *testing.T) []byte {
	t.Helper()
	d := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: 300, Ht: 400}})
	d.SetFont("Helvetica", "", 20)
	d.AddPage()
	d.Text(20, 300, "first")
	for range 2 {
		d.AddPage()
		d.Rect(20, 20, 100, 50, "F") // a picture, not text
	}
	var b bytes.Buffer
	if err := d.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
