package document

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function/imageio"
)

// fuzzLimits keep each execution cheap: pages rendered at 18 DPI (a
// Letter page is 153×198 px), at most 3 of them, each under 64k pixels.
var fuzzLimits = Options{DPI: 18, MaxPages: 3, MaxPixels: 1 << 16}

// pdfKinds are the errors Pages may refuse a PDF with.
var pdfKinds = []error{ErrBrokenPDF, ErrEncrypted, ErrTooManyPages, ErrPageRange, imageio.ErrTooLarge, imageio.ErrZeroSize}

// FuzzPDF opens and renders arbitrary bytes as a PDF, with a page range
// taken from the input. Nothing panics or hangs; a refusal is one of the
// package's kinds; what is rendered is the selection, in order, within
// the page and pixel limits, and agrees with PageCount.
func FuzzPDF(f *testing.F) {
	seeds := [][]byte{
		buildPDF(numbered(2, 200, 300), nil, 0),
		buildPDF(numbered(1, 612, 792), nil, 10000),
		buildPDF(numbered(1, 200, 300), &security{user: "user", owner: "owner"}, 0),
		buildPDF(numbered(1, 200, 300), &security{owner: "owner"}, 0),
		buildPDF([]testPage{{w: 14400, h: 14400, bar: 4, text: "huge"}}, nil, 0),
		buildPDF([]testPage{{w: 0, h: 0, bar: 4, text: "empty"}}, nil, 0),
		buildPDF([]testPage{{w: 200, h: 300, bar: 8, text: "rotated", rotate: 90}}, nil, 0),
		buildPDF([]testPage{{w: 200, h: 300, bar: 8, ops: heavyOps(20)}}, nil, 0),
		[]byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"),
		[]byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [2 0 R] /Count 1 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"),
		append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("\x00garbage\xff"), 20)...),
		[]byte("%PDF-"),
		nil,
	}
	for i, s := range seeds {
		f.Add(s, uint8(i%3), uint8(i%4))
	}
	f.Fuzz(func(t *testing.T, data []byte, first, last uint8) {
		r := renderer(t)
		// A render the deadline cuts short is still an answer, not a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		o := fuzzLimits
		o.FirstPage, o.LastPage = int(first%5), int(last%5)
		count, countErr := PageCount(ctx, r, data, "pdf")
		want := o.FirstPage
		if want == 0 {
			want = 1
		}
		err := Pages(ctx, r, data, "pdf", o, func(p Page, total int) error {
			if total > o.MaxPages {
				t.Fatalf("%d pages yielded, limit %d", total, o.MaxPages)
			}
			m := p.Image
			if p.Number != want {
				t.Fatalf("page %d, want %d", p.Number, want)
			}
			want++
			if m.W < 1 || m.H < 1 || int64(m.W)*int64(m.H) > o.MaxPixels || len(m.Pix) != 3*m.W*m.H {
				t.Fatalf("page %d: %dx%d with %d bytes", p.Number, m.W, m.H, len(m.Pix))
			}
			return nil
		})
		if ctx.Err() != nil {
			t.Fatalf("open or render took over 20 s: %v", err)
		}
		if err != nil {
			n := 0
			for _, k := range pdfKinds {
				if errors.Is(err, k) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q wraps %d of the package's kinds, want 1", err, n)
			}
			if countErr != nil && errors.Is(countErr, ErrEncrypted) != errors.Is(err, ErrEncrypted) {
				t.Fatalf("PageCount %v, Pages %v: one document, two verdicts", countErr, err)
			}
			return
		}
		if countErr != nil {
			t.Fatalf("Pages rendered what PageCount refused: %v", countErr)
		}
		if count < want-1 {
			t.Fatalf("rendered up to page %d of a %d-page document", want-1, count)
		}
	})
}
