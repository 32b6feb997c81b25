package format

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/ocrhost/ocrhost/format/glyphless"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imgproc"
)

// ErrNoImage means a format that draws the page was given no page image.
var ErrNoImage = errors.New("format: the page image is needed")

// DefaultDPI is the resolution a page image is placed at when the page
// does not say (an image file): it sets the PDF page's size in points.
const DefaultDPI = 300

// pdfFont is the font of the invisible text: the Go font, embedded as a
// subset of the characters used. Being invisible, only its metrics matter,
// and fpdf writes a ToUnicode map for every character, so text outside its
// glyphs (CJK) is extracted and searched as well.
const pdfFont = "go"

// fontAscent and fontDescent are the Go font's ascent and descent per em,
// as fpdf writes them into the font descriptor (thousandths, truncated),
// which is what PDF readers box text with.
var fontAscent, fontDescent = func() (float64, float64) {
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		panic(err) // the font is compiled in
	}
	upem := int(f.UnitsPerEm())
	m, err := f.Metrics(&sfnt.Buffer{}, fixed.I(upem), font.HintingNone)
	if err != nil {
		panic(err)
	}
	return float64(m.Ascent.Round()*1000/upem) / 1000, float64(m.Descent.Round()*1000/upem) / 1000
}()

// pdfWriter writes a searchable PDF: per page, the page image filling the
// page and, over it, each word in invisible text (rendering mode 3) scaled
// and turned onto the word's box, as ocrmypdf and Tesseract do.
type pdfWriter struct {
	out   io.Writer
	doc   *fpdf.Fpdf
	pages int
}

func newPDF(w io.Writer) *pdfWriter {
	doc := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: 612, Ht: 792}})
	doc.SetAutoPageBreak(false, 0)
	doc.SetMargins(0, 0, 0)
	doc.SetProducer("ocrhost", false)
	doc.SetCreator("ocrhost", false)
	doc.AddUTF8FontFromBytes(pdfFont, "", goregular.TTF)
	return &pdfWriter{out: w, doc: doc}
}

func (p *pdfWriter) WritePage(pg Page) error {
	if pg.Image == nil && pg.JPEG == nil {
		return fmt.Errorf("%w for a PDF page (page %d)", ErrNoImage, pg.Number)
	}
	p.pages++
	dpi := pg.DPI
	if dpi <= 0 {
		dpi = DefaultDPI
	}
	scale := 72 / dpi // points per pixel
	d := p.doc
	d.AddPageFormat("P", fpdf.SizeType{Wd: float64(pg.Width) * scale, Ht: float64(pg.Height) * scale})
	name := fmt.Sprintf("page%d", p.pages)
	opts, data, err := pageImage(pg)
	if err != nil {
		return err
	}
	d.RegisterImageOptionsReader(name, opts, bytes.NewReader(data))
	d.ImageOptions(name, 0, 0, float64(pg.Width)*scale, float64(pg.Height)*scale, false, opts, 0, "")
	d.SetTextRenderingMode(3)
	for _, l := range pg.Lines {
		ws := words(l)
		for i, w := range ws {
			p.word(w, textFrame(l, w.Box), scale, i < len(ws)-1)
		}
	}
	d.SetTextRenderingMode(0)
	return d.Error()
}

// word places w's text in invisible type on its box: the font size makes
// the type's ascent plus descent the box's height, a horizontal scale
// makes its width the box's length, and a rotation turns it along the
// line. A space follows every word but a line's last: readers break words
// at a space whatever the gap, and CTC word boxes can nearly touch.
func (p *pdfWriter) word(w function.Word, f frame, scale float64, space bool) {
	text := strings.TrimSpace(w.Text)
	if text == "" || f.height <= 0 || f.length <= 0 {
		return
	}
	d := p.doc
	size := f.height * scale / (fontAscent + fontDescent)
	d.SetFont(pdfFont, "", size)
	natural := d.GetStringWidth(text)
	if natural <= 0 {
		return
	}
	// The baseline lies the descent above the box's bottom edge.
	up := f.up()
	bx := (f.bl.X + up.X*fontDescent*size/scale) * scale
	by := (f.bl.Y + up.Y*fontDescent*size/scale) * scale
	d.TransformBegin()
	if f.angle != 0 {
		d.TransformRotate(f.angle, bx, by)
	}
	d.TransformScale(100*f.length*scale/natural, 100, bx, by)
	if space {
		text += " "
	}
	d.Text(bx, by, text)
	d.TransformEnd()
}

func (p *pdfWriter) Close() error {
	if p.pages == 0 {
		return fmt.Errorf("%w: a PDF needs at least one page", ErrNoImage)
	}
	return p.doc.Output(p.out)
}

// frame is a word's box as its text reads: the bottom-left corner of the
// text, the length along the line and the height across it, and the
// line's angle, counter-clockwise in degrees as seen on the page.
type frame struct {
	bl, tl, br     function.Point
	length, height float64
	angle          float64
}

// up is the unit vector from the text's bottom edge to its top, in pixels
// (y down).
func (f frame) up() function.Point {
	return function.Point{X: (f.tl.X - f.bl.X) / f.height, Y: (f.tl.Y - f.bl.Y) / f.height}
}

// dir is the unit vector along the text's baseline, in pixels.
func (f frame) dir() function.Point {
	return function.Point{X: (f.br.X - f.bl.X) / f.length, Y: (f.br.Y - f.bl.Y) / f.length}
}

// textFrame reads box q of a word of line l the way the recogniser read
// it: corners are in the line's crop order, the crop turned 90° counter-
// clockwise when it is at least 1.5 times taller than wide (as the
// function cuts it) and 180° when the line is marked rotated.
func textFrame(l function.Line, q function.Quad) frame {
	dist := func(a, b function.Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }
	lq := l.Box
	tall := max(dist(lq[0], lq[3]), dist(lq[1], lq[2])) >= 1.5*max(dist(lq[0], lq[1]), dist(lq[3], lq[2]))
	// Corners as the text reads: top-left, top-right, bottom-right, bottom-left.
	k := [4]int{0, 1, 2, 3}
	switch {
	case tall && l.Rotated:
		k = [4]int{3, 0, 1, 2}
	case tall:
		k = [4]int{1, 2, 3, 0}
	case l.Rotated:
		k = [4]int{2, 3, 0, 1}
	}
	tl, br, bl := q[k[0]], q[k[2]], q[k[3]]
	f := frame{bl: bl, tl: tl, br: br, length: dist(bl, br), height: dist(bl, tl)}
	f.angle = math.Atan2(-(br.Y-bl.Y), br.X-bl.X) * 180 / math.Pi
	if math.Abs(f.angle) < 0.5 {
		f.angle = 0 // level: keep the text unrotated
	}
	return f
}

// pageImage is the page image as fpdf embeds it: the JPEG as it came
// when the page has one, a PNG of the pixels otherwise (grey when every
// pixel is grey).
func pageImage(pg Page) (fpdf.ImageOptions, []byte, error) {
	if pg.JPEG != nil {
		return fpdf.ImageOptions{ImageType: "JPG"}, pg.JPEG, nil
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, stdImage(pg.Image)); err != nil {
		return fpdf.ImageOptions{}, nil, fmt.Errorf("format: encoding page %d: %w", pg.Number, err)
	}
	return fpdf.ImageOptions{ImageType: "PNG"}, buf.Bytes(), nil
}

// stdImage is m as a standard image: Gray when every pixel is grey, RGBA
// otherwise.
func stdImage(m *imgproc.Image) image.Image {
	grey := true
	for i := 0; i+2 < len(m.Pix); i += 3 {
		if m.Pix[i] != m.Pix[i+1] || m.Pix[i] != m.Pix[i+2] {
			grey = false
			break
		}
	}
	r := image.Rect(0, 0, m.W, m.H)
	if grey {
		g := image.NewGray(r)
		for i := range g.Pix {
			g.Pix[i] = m.Pix[3*i]
		}
		return g
	}
	c := image.NewRGBA(r)
	for i := 0; i < m.W*m.H; i++ {
		c.Pix[4*i], c.Pix[4*i+1], c.Pix[4*i+2], c.Pix[4*i+3] = m.Pix[3*i+2], m.Pix[3*i+1], m.Pix[3*i], 255
	}
	return c
}

// EmbeddableJPEG reports whether JPEG file data can go into a PDF as it
// is, showing the pixels the OCR read: a baseline-decodable JPEG in grey or
// YCbCr (CMYK JPEGs differ between readers) whose EXIF orientation, if
// any, is upright (orientation is the EXIF tag, 1 when absent).
func EmbeddableJPEG(data []byte, orientation int) bool {
	if orientation > 1 {
		return false
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return false
	}
	return cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.YCbCrModel
}

// Run is one word of invisible text placed on its box, for a text layer
// added to a page that is kept as it is: Text at font size Size (pixels),
// its text space (baseline along x, up along y) mapped into the page
// image's pixels (y down) by Matrix, [a b c d e f] in PDF's order. A
// space follows every word but a line's last. Runs are set in a glyphless
// font (package glyphless): every character advances the same, and the
// type stands glyphless.Ascent above the baseline and glyphless.Descent
// below.
type Run struct {
	Text   string
	Size   float64
	Matrix [6]float64
}

// Runs places a page's words as the searchable PDF writer does: the font
// size makes ascent plus descent the box's height, a horizontal scale its
// width the box's length, the baseline runs along the line.
func Runs(p Page) []Run {
	const (
		advance = float64(glyphless.Advance) / glyphless.UnitsPerEm
		ascent  = float64(glyphless.Ascent) / glyphless.UnitsPerEm
		descent = float64(glyphless.Descent) / glyphless.UnitsPerEm
	)
	var runs []Run
	for _, l := range p.Lines {
		ws := words(l)
		for i, w := range ws {
			text := strings.TrimSpace(w.Text)
			fr := textFrame(l, w.Box)
			if text == "" || fr.height <= 0 || fr.length <= 0 {
				continue
			}
			size := fr.height / (ascent + descent)
			natural := float64(utf8.RuneCountInString(text)) * advance * size
			up, dir := fr.up(), fr.dir()
			s := fr.length / natural
			bx, by := fr.bl.X+up.X*descent*size, fr.bl.Y+up.Y*descent*size
			if i < len(ws)-1 {
				text += " "
			}
			runs = append(runs, Run{Text: text, Size: size, Matrix: [6]float64{s * dir.X, s * dir.Y, up.X, up.Y, bx, by}})
		}
	}
	return runs
}
