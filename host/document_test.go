package host

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/ocrhost/ocrhost/function/document"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/pdfgen"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// textPDF writes a PDF of one A5 page per text in 28 pt Helvetica.
func textPDF(texts []string) []byte { return pdfgen.Lines(texts) }

func pageTexts(n int) []string {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("Page %d %s", i+1, words[i%len(words)])
	}
	return texts
}

func TestPDFPagesInOrderWithProgress(t *testing.T) {
	testenv.Models(t)
	h := newHost(t, WithDocuments(0, 2, 0, t.TempDir()))
	texts := pageTexts(5)
	var mu sync.Mutex
	var progress [][2]int
	resp, err := h.Invoke(context.Background(), &Request{ID: "doc", Data: textPDF(texts), ContentType: "application/pdf",
		Options: []byte(`{"markdown": true}`),
		Progress: func(done, total int) {
			mu.Lock()
			progress = append(progress, [2]int{done, total})
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Pages) != len(texts) {
		t.Fatalf("%d pages, want %d", len(resp.Pages), len(texts))
	}
	for i, p := range resp.Pages {
		var got []string
		for _, l := range p.Lines {
			got = append(got, l.Text)
		}
		if p.Number != i+1 || strings.Join(got, " ") != texts[i] {
			t.Errorf("page %d: number %d, text %q, want %q", i+1, p.Number, got, texts[i])
		}
	}
	if want := [][2]int{{2, 5}, {4, 5}, {5, 5}}; fmt.Sprint(progress) != fmt.Sprint(want) {
		t.Errorf("progress %v, want %v (batches of 2)", progress, want)
	}
	if strings.Count(resp.Text, "\f") != 4 || !strings.Contains(resp.Markdown, "<!-- page 5 -->") {
		t.Errorf("text %q markdown %q", resp.Text, resp.Markdown)
	}

	sel, err := h.Invoke(context.Background(), &Request{Data: textPDF(texts), Options: []byte(`{"first_page": 2, "last_page": 3}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Pages) != 2 || sel.Pages[0].Number != 2 || !strings.HasPrefix(sel.Text, "Page 2") {
		t.Errorf("page range 2-3: %d pages, text %q", len(sel.Pages), sel.Text)
	}
}

func TestMultiPageTIFF(t *testing.T) {
	testenv.Models(t)
	h := newHost(t)
	// Three pages: each a rendered text page encoded as its own TIFF,
	// chained by rewriting the last IFD's next pointer.
	var pages [][]byte
	for i := 0; i < 3; i++ {
		img := image.NewGray(image.Rect(0, 0, 300+40*i, 200))
		for p := range img.Pix {
			img.Pix[p] = 255
		}
		for y := 80; y < 100; y++ {
			for x := 40; x < 40+60*(i+1); x++ {
				img.SetGray(x, y, color.Gray{0})
			}
		}
		var buf bytes.Buffer
		if err := tiff.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, buf.Bytes())
	}
	data := chainTIFF(t, pages)
	hdr, _ := imageio.DecodeConfig(data)
	if format, ok := document.IsDocument(data, hdr); !ok || format != "tiff" {
		t.Fatalf("built TIFF not seen as a document: %q %v", format, ok)
	}
	resp, err := h.Invoke(context.Background(), &Request{Data: data, ContentType: "image/tiff", Options: []byte(`{"stages":["det"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Pages) != 3 {
		t.Fatalf("%d pages, want 3", len(resp.Pages))
	}
	for i, p := range resp.Pages {
		if p.Width != 300+40*i {
			t.Errorf("page %d width %d, want %d (order kept)", i+1, p.Width, 300+40*i)
		}
	}
}

// chainTIFF joins little-endian single-page TIFFs into one multi-page file:
// each file's IFD offsets are shifted by where it lands and the previous
// last IFD points at the next file's first.
func chainTIFF(t *testing.T, files [][]byte) []byte {
	t.Helper()
	le := func(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24 }
	put := func(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
	out := append([]byte(nil), files[0]...)
	lastNext := func(buf []byte, ifd uint32) int { // offset of the "next IFD" field of the chain's last IFD
		for {
			n := int(buf[ifd]) | int(buf[ifd+1])<<8
			at := int(ifd) + 2 + 12*n
			next := le(buf[at:])
			if next == 0 {
				return at
			}
			ifd = next
		}
	}
	for _, f := range files[1:] {
		if string(f[:2]) != "II" {
			t.Fatal("want little-endian TIFFs")
		}
		base := uint32(len(out))
		page := append([]byte(nil), f...)
		ifd := le(page[4:])
		// Shift every offset in the page's IFD: entries whose value does not
		// fit in 4 bytes, and the strip offsets.
		n := int(page[ifd]) | int(page[ifd+1])<<8
		for e := 0; e < n; e++ {
			at := int(ifd) + 2 + 12*e
			tag := int(page[at]) | int(page[at+1])<<8
			typ := int(page[at+2]) | int(page[at+3])<<8
			count := le(page[at+4:])
			size := map[int]uint32{1: 1, 2: 1, 3: 2, 4: 4, 5: 8}[typ] * count
			switch {
			case tag == 273: // StripOffsets
				if count == 1 {
					put(page[at+8:], le(page[at+8:])+base)
				} else {
					arr := le(page[at+8:])
					for k := uint32(0); k < count; k++ {
						put(page[arr+4*k:], le(page[arr+4*k:])+base)
					}
					put(page[at+8:], arr+base)
				}
			case size > 4:
				put(page[at+8:], le(page[at+8:])+base)
			}
		}
		put(out[lastNext(out, le(out[4:])):], ifd+base)
		out = append(out, page...)
	}
	return out
}

func TestBrokenPDFsAndPageLimits(t *testing.T) {
	testenv.Models(t)
	h := newHost(t, WithDocuments(0, 0, 3, t.TempDir()))
	for _, c := range []struct {
		name string
		data []byte
		code Code
	}{
		{"garbage after the header", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("garbage "), 50)...), CodeInvalidInput},
		{"over the page limit", textPDF(pageTexts(4)), CodeTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.Invoke(context.Background(), &Request{Data: c.data})
			if AsFailure(err).Code != c.code {
				t.Errorf("%v, want %s", err, c.code)
			}
		})
	}
	if _, err := h.Invoke(context.Background(), &Request{Data: textPDF(pageTexts(2)), Options: []byte(`{"first_page": 5}`)}); AsFailure(err).Code != CodeInvalidInput {
		t.Errorf("page range beyond the document: %v, want invalid_input", err)
	}
	if _, err := h.Invoke(context.Background(), &Request{Data: textPDF(pageTexts(1)), Options: []byte(`{"first_page": -1}`)}); AsFailure(err).Code != CodeInvalidInput {
		t.Errorf("negative page: %v, want invalid_input", err)
	}
}
