package format

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/layout"
)

// overlayGap is the band of grey between the pages of a document's
// overlay.
const overlayGap = 16

var (
	overlayWord = color.RGBA{0, 170, 255, 255} // word boxes
	overlayBg   = color.RGBA{255, 255, 255, 255}
	overlayGrey = color.RGBA{128, 128, 128, 255}
)

// blockColor is the colour of a block type's boxes and label.
func blockColor(t string) color.RGBA {
	switch layout.BlockType(t) {
	case layout.Title, layout.Heading:
		return color.RGBA{200, 0, 0, 255}
	case layout.List:
		return color.RGBA{150, 0, 200, 255}
	case layout.Caption:
		return color.RGBA{220, 120, 0, 255}
	case layout.Header, layout.Footer, layout.PageNumber:
		return color.RGBA{120, 120, 120, 255}
	case layout.Table:
		return color.RGBA{0, 140, 140, 255}
	case layout.Figure:
		return color.RGBA{160, 110, 40, 255}
	}
	return color.RGBA{0, 160, 0, 255} // paragraphs, and lines outside blocks
}

// overlayWriter draws each page's image with its word boxes (thin), line
// boxes (in their block's colour, numbered in reading order) and block
// boxes labelled with their type, for reviewing a result. A document's
// pages are stacked top to bottom in one PNG, a grey band between them.
type overlayWriter struct {
	out   io.Writer
	pages []*image.RGBA
}

func newOverlay(w io.Writer) *overlayWriter { return &overlayWriter{out: w} }

func (o *overlayWriter) WritePage(p Page) error {
	if p.Image == nil {
		return fmt.Errorf("%w for an overlay (page %d)", ErrNoImage, p.Number)
	}
	m := image.NewRGBA(image.Rect(0, 0, p.Image.W, p.Image.H))
	for i := 0; i < p.Image.W*p.Image.H; i++ {
		m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2], m.Pix[4*i+3] = p.Image.Pix[3*i+2], p.Image.Pix[3*i+1], p.Image.Pix[3*i], 255
	}
	thick := max(1, min(p.Image.W, p.Image.H)/800)
	for _, b := range blocks(p) {
		c := blockColor(b.typ)
		for _, li := range b.lines {
			l := p.Lines[li]
			for _, w := range l.Words {
				quad(m, w.Box, overlayWord, 1)
			}
			quad(m, l.Box, c, thick)
		}
	}
	// Labels last, over every box: line numbers at each line's first
	// corner, block types above each block.
	for _, b := range blocks(p) {
		c := blockColor(b.typ)
		if b.typ != "" {
			r := b.box
			rectangle(m, r, c, 1)
			label(m, b.typ, r.x0, r.y0, c, labelAbove, thick)
		}
		for _, li := range b.lines {
			q := p.Lines[li].Box
			label(m, strconv.Itoa(li+1), int(q[0].X), int(q[0].Y), c, labelLeft, thick)
		}
	}
	o.pages = append(o.pages, m)
	return nil
}

func (o *overlayWriter) Close() error {
	if len(o.pages) == 0 {
		return fmt.Errorf("%w: an overlay needs at least one page", ErrNoImage)
	}
	if len(o.pages) == 1 {
		return png.Encode(o.out, o.pages[0])
	}
	w, h := 0, 0
	for _, m := range o.pages {
		w = max(w, m.Bounds().Dx())
		h += m.Bounds().Dy()
	}
	h += overlayGap * (len(o.pages) - 1)
	all := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(all, all.Bounds(), image.NewUniform(overlayGrey), image.Point{}, draw.Src)
	y := 0
	for _, m := range o.pages {
		draw.Draw(all, m.Bounds().Add(image.Pt(0, y)), m, image.Point{}, draw.Src)
		y += m.Bounds().Dy() + overlayGap
	}
	return png.Encode(o.out, all)
}

// quad draws the four edges of q.
func quad(m *image.RGBA, q function.Quad, c color.RGBA, thick int) {
	for k := range q {
		a, b := q[k], q[(k+1)%4]
		segment(m, a.X, a.Y, b.X, b.Y, c, thick)
	}
}

func rectangle(m *image.RGBA, r rect, c color.RGBA, thick int) {
	x0, y0, x1, y1 := float64(r.x0), float64(r.y0), float64(r.x1-1), float64(r.y1-1)
	segment(m, x0, y0, x1, y0, c, thick)
	segment(m, x1, y0, x1, y1, c, thick)
	segment(m, x1, y1, x0, y1, c, thick)
	segment(m, x0, y1, x0, y0, c, thick)
}

// segment draws a line thick pixels wide from (x0, y0) to (x1, y1).
func segment(m *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA, thick int) {
	n := int(math.Ceil(max(math.Abs(x1-x0), math.Abs(y1-y0)))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x, y := int(x0+(x1-x0)*t), int(y0+(y1-y0)*t)
		for dy := 0; dy < thick; dy++ {
			for dx := 0; dx < thick; dx++ {
				if (image.Point{X: x + dx - thick/2, Y: y + dy - thick/2}).In(m.Rect) {
					m.SetRGBA(x+dx-thick/2, y+dy-thick/2, c)
				}
			}
		}
	}
}

// Where a label goes from its point: above it, or to its left.
const (
	labelAbove = iota
	labelLeft
)

// label writes s in white on a box of colour c, zoom times the size of
// the 7×13 bitmap font: above (x, y), its left edge there, or left of it,
// its top there; kept on the page.
func label(m *image.RGBA, s string, x, y int, c color.RGBA, where, zoom int) {
	face := basicfont.Face7x13
	w := font.MeasureString(face, s).Ceil() + 4
	h := face.Metrics().Height.Ceil() + 2
	small := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(small, small.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	d := &font.Drawer{Dst: small, Src: image.NewUniform(overlayBg), Face: face,
		Dot: fixed.P(2, h-1-face.Metrics().Descent.Ceil())}
	d.DrawString(s)
	w, h = w*zoom, h*zoom
	top := y
	switch where {
	case labelAbove:
		top = y - h
	case labelLeft:
		x -= w
	}
	top = min(max(top, 0), max(m.Rect.Dy()-h, 0))
	x = min(max(x, 0), max(m.Rect.Dx()-w, 0))
	for dy := 0; dy < h; dy++ {
		for dx := 0; dx < w; dx++ {
			if p := image.Pt(x+dx, top+dy); p.In(m.Rect) {
				m.SetRGBA(p.X, p.Y, small.RGBAAt(dx/zoom, dy/zoom))
			}
		}
	}
}
