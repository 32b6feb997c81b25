package format_test

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/format"
)

// TestOverlay decodes the overlay PNG and checks what it shows: the page
// at its size, every line box's edges drawn in colour over the page (the
// middle of each top and bottom edge), the page untouched away from the
// boxes, and a two-page document as both pages stacked with a grey band
// between them.
func TestOverlay(t *testing.T) {
	s := readSample(t)
	p := withImage(t, s)
	m, err := png.Decode(bytes.NewReader(render(t, format.Overlay, p)))
	if err != nil {
		t.Fatal(err)
	}
	if b := m.Bounds(); b.Dx() != p.Width || b.Dy() != p.Height {
		t.Fatalf("overlay %v, page %dx%d", b, p.Width, p.Height)
	}
	coloured := func(m image.Image, x, y int) bool {
		r, g, b, _ := m.At(x, y).RGBA()
		return r != g || g != b // the page is grey; boxes are not
	}
	for i, l := range p.Lines {
		q := l.Box
		for _, e := range [][2]int{{0, 1}, {3, 2}} {
			x, y := int((q[e[0]].X+q[e[1]].X)/2), int((q[e[0]].Y+q[e[1]].Y)/2)
			if !coloured(m, x, y) {
				t.Errorf("line %d: no box edge drawn at %d,%d", i+1, x, y)
			}
		}
	}
	// Below the last line, the page shows through unchanged.
	for y := p.Height - 60; y < p.Height; y += 7 {
		for x := 0; x < p.Width; x += 13 {
			r, _, _, _ := m.At(x, y).RGBA()
			if o := p.Image.Offset(x, y); uint8(r>>8) != p.Image.Pix[o+2] {
				t.Fatalf("pixel %d,%d changed where no box is", x, y)
			}
		}
	}

	p2 := p
	p2.Number = 2
	two, err := png.Decode(bytes.NewReader(render(t, format.Overlay, p, p2)))
	if err != nil {
		t.Fatal(err)
	}
	if b := two.Bounds(); b.Dx() != p.Width || b.Dy() != 2*p.Height+16 {
		t.Fatalf("two pages: %v", b)
	}
	if r, g, b, _ := two.At(p.Width/2, p.Height+8).RGBA(); r != g || g != b || r>>8 != 128 {
		t.Errorf("no grey band between the pages")
	}
	for y := 0; y < p.Height; y += 5 {
		for x := 0; x < p.Width; x += 5 {
			if m.At(x, y) != two.At(x, y+p.Height+16) {
				t.Fatalf("page 2 differs from page 1 at %d,%d", x, y)
			}
		}
	}

	w, _ := format.NewWriter(&strings.Builder{}, format.Overlay)
	if err := w.WritePage(s.page); !errors.Is(err, format.ErrNoImage) {
		t.Errorf("page without image: %v", err)
	}
}
