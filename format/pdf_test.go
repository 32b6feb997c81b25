package format_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/format/glyphless"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/function/imgproc"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// withImage is the sample page with its image, for the formats that draw it.
func withImage(t *testing.T, s *samplePage) format.Page {
	t.Helper()
	img, _, err := imageio.Decode(s.img)
	if err != nil {
		t.Fatal(err)
	}
	p := s.page
	p.Image = img
	return p
}

// bboxWord is a word as pdftotext -bbox reports it, in points.
type bboxWord struct {
	XMin float64 `xml:"xMin,attr"`
	YMin float64 `xml:"yMin,attr"`
	XMax float64 `xml:"xMax,attr"`
	YMax float64 `xml:"yMax,attr"`
	Text string  `xml:",chardata"`
}

// pdfWords reads page n's words with pdftotext -bbox.
func pdfWords(t *testing.T, pdftotext, pdf string, n int) []bboxWord {
	t.Helper()
	out := run(t, pdftotext, "-bbox", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), pdf, "-")
	var doc struct {
		Pages []struct {
			Words []bboxWord `xml:"word"`
		} `xml:"body>doc>page"`
	}
	dec := xml.NewDecoder(bytes.NewReader(out))
	dec.Strict = false
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("pdftotext -bbox output: %v", err)
	}
	if len(doc.Pages) != 1 {
		t.Fatalf("pdftotext -bbox gave %d pages for page %d", len(doc.Pages), n)
	}
	return doc.Pages[0].Words
}

func quadBounds(q function.Quad) (x0, y0, x1, y1 float64) {
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range q {
		x0, y0, x1, y1 = min(x0, p.X), min(y0, p.Y), max(x1, p.X), max(y1, p.Y)
	}
	return
}

// TestSearchablePDF writes the sample as a two-page searchable PDF and
// reads it with poppler. Then it does the same with the sample turned by a
// quarter and a half, read by the pipeline in that turn.
func TestSearchablePDF(t *testing.T) {
	s := readSample(t)
	p1 := withImage(t, s)
	p2 := p1
	p2.Number = 2
	checkPDF(t, false, p1, p2)
	models := testenv.LoadAll(t)
	for _, turns := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d°", 90*turns), func(t *testing.T) {
			img := p1.Image
			for range turns {
				img = imgproc.Rotate90CCW(img)
			}
			res, err := function.Run(context.Background(), models, img, function.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			p := format.FromResult(res, false)
			p.Image = img
			checkPDF(t, true, p)
		})
	}
}

// checkPDF writes pages as a searchable PDF and checks, with poppler:
// pdftotext reads each page at CER ≤ 0.01 against the page's text (for a
// turned page in the text layer's order, -raw: pdftotext's own layout
// analysis shuffles the lines of a page turned 90°); every
// one of our words is among those pdftotext -bbox reports, within 3 px of
// our box (each edge of its bounds, at the page's 300 dpi); pdftocairo
// renders each page back to the input image pixel for pixel, and pdftoppm
// within the smoothing its renderer applies to images drawn at their own
// size (a one-pixel shift costs 14-22 grey levels on the sample, the
// smoothing 8).
func checkPDF(t *testing.T, turned bool, pages ...format.Page) {
	t.Helper()
	pdftotext, pdftoppm, pdftocairo := tool(t, "pdftotext"), tool(t, "pdftoppm"), tool(t, "pdftocairo")
	pdf := writeTemp(t, "doc.pdf", render(t, format.PDF, pages...))
	px := float64(format.DefaultDPI) / 72
	dir := t.TempDir()
	run(t, pdftoppm, "-r", strconv.Itoa(format.DefaultDPI), "-png", pdf, filepath.Join(dir, "splash"))
	run(t, pdftocairo, "-r", strconv.Itoa(format.DefaultDPI), "-png", pdf, filepath.Join(dir, "cairo"))
	for n, p := range pages {
		n++
		args := []string{"-f", strconv.Itoa(n), "-l", strconv.Itoa(n), pdf, "-"}
		if turned {
			args = append([]string{"-raw"}, args...)
		}
		got := string(run(t, pdftotext, args...))
		cer := textmetric.CER(got, p.Text)
		t.Logf("page %d: pdftotext CER %.4f against our text", n, cer)
		if cer > 0.01 {
			t.Errorf("page %d: CER %.4f > 0.01; pdftotext read:\n%s\nours:\n%s", n, cer, got, p.Text)
		}

		theirs := pdfWords(t, pdftotext, pdf, n)
		used := make([]bool, len(theirs))
		worst, found, total := 0.0, 0, 0
		for _, l := range p.Lines {
			for _, w := range l.Words {
				total++
				x0, y0, x1, y1 := quadBounds(w.Box)
				best, bi := math.Inf(1), -1
				for i, o := range theirs {
					if used[i] || o.Text != w.Text {
						continue
					}
					d := max(math.Abs(o.XMin*px-x0), math.Abs(o.XMax*px-x1), math.Abs(o.YMin*px-y0), math.Abs(o.YMax*px-y1))
					if d < best {
						best, bi = d, i
					}
				}
				if bi < 0 {
					t.Errorf("page %d: our word %q not among pdftotext's", n, w.Text)
					continue
				}
				used[bi] = true
				found++
				worst = max(worst, best)
				if best > 3 {
					t.Errorf("page %d: word %q: pdftotext's box %.1f px off ours", n, w.Text, best)
				}
			}
		}
		t.Logf("page %d: %d of %d words found by pdftotext -bbox, worst edge %.2f px", n, found, total, worst)

		cairoMean, cairoMax := imageDiff(t, readPNG(t, filepath.Join(dir, fmt.Sprintf("cairo-%d.png", n))), p)
		splashMean, splashMax := imageDiff(t, readPNG(t, filepath.Join(dir, fmt.Sprintf("splash-%d.png", n))), p)
		t.Logf("page %d: rendered vs input: pdftocairo mean |Δ| %.3f max %d, pdftoppm mean %.3f max %d", n, cairoMean, cairoMax, splashMean, splashMax)
		if cairoMax != 0 {
			t.Errorf("page %d: pdftocairo renders up to %d grey levels off the input", n, cairoMax)
		}
		if splashMean > 10 {
			t.Errorf("page %d: pdftoppm renders %.3f grey levels off the input on average", n, splashMean)
		}
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// imageDiff compares a rendering with the page image: same size, and the
// mean and largest absolute difference over every channel.
func imageDiff(t *testing.T, got image.Image, p format.Page) (float64, int) {
	t.Helper()
	b := got.Bounds()
	if b.Dx() != p.Image.W || b.Dy() != p.Image.H {
		t.Fatalf("rendered %dx%d, image is %dx%d", b.Dx(), b.Dy(), p.Image.W, p.Image.H)
	}
	var sum float64
	maxd := 0
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := got.At(b.Min.X+x, b.Min.Y+y).RGBA()
			o := p.Image.Offset(x, y)
			for k, v := range []uint32{bl, g, r} {
				d := int(v>>8) - int(p.Image.Pix[o+k])
				if d < 0 {
					d = -d
				}
				sum += float64(d)
				maxd = max(maxd, d)
			}
		}
	}
	return sum / float64(3*b.Dx()*b.Dy()), maxd
}

// TestPDFNeedsImage: a page without its image is a typed error, not a
// PDF without pictures.
func TestPDFNeedsImage(t *testing.T) {
	w, err := format.NewWriter(&strings.Builder{}, format.PDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WritePage(format.Page{Number: 1, Width: 10, Height: 10}); err == nil || !strings.Contains(err.Error(), "image") {
		t.Fatalf("page without image: %v", err)
	}
}

// TestPDFKeepsJPEG: a JPEG page goes into the PDF as the same bytes, and
// renders as the decoded JPEG within the rounding of two JPEG decoders.
func TestPDFKeepsJPEG(t *testing.T) {
	pdftocairo := tool(t, "pdftocairo")
	s := readSample(t)
	p := withImage(t, s)
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, rgbaOf(p.Image), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	if !format.EmbeddableJPEG(jpg.Bytes(), 1) || format.EmbeddableJPEG(jpg.Bytes(), 6) {
		t.Fatal("EmbeddableJPEG: want true upright, false for EXIF orientation 6")
	}
	img, _, err := imageio.Decode(jpg.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	p.Image, p.JPEG = img, jpg.Bytes()
	doc := render(t, format.PDF, p)
	if !bytes.Contains(doc, jpg.Bytes()) {
		t.Fatal("the JPEG's bytes are not in the PDF")
	}
	pdf := writeTemp(t, "jpeg.pdf", doc)
	dir := t.TempDir()
	run(t, pdftocairo, "-r", strconv.Itoa(format.DefaultDPI), "-png", pdf, filepath.Join(dir, "cairo"))
	mean, maxd := imageDiff(t, readPNG(t, filepath.Join(dir, "cairo-1.png")), p)
	t.Logf("PDF of %d-byte JPEG: %d bytes; rendered vs decoded: mean |Δ| %.3f, max %d", jpg.Len(), len(doc), mean, maxd)
	if mean > 1 {
		t.Errorf("rendered %.3f grey levels off the decoded JPEG on average", mean)
	}
}

func rgbaOf(m *imgproc.Image) image.Image {
	c := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	for i := 0; i < m.W*m.H; i++ {
		c.Pix[4*i], c.Pix[4*i+1], c.Pix[4*i+2], c.Pix[4*i+3] = m.Pix[3*i+2], m.Pix[3*i+1], m.Pix[3*i], 255
	}
	return c
}

// TestPDFTextBeyondTheFont: words in scripts the embedded font has no
// glyphs for (CJK, Cyrillic, Greek) are still extracted and searched.
func TestPDFTextBeyondTheFont(t *testing.T) {
	pdftotext := tool(t, "pdftotext")
	img := imgproc.New(600, 200)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	box := func(x0, y0, x1, y1 float64) function.Quad {
		return function.Quad{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
	}
	lines := []function.Line{
		{Text: "中文识别 测试", Confidence: 0.9, Box: box(20, 20, 400, 60), Words: []function.Word{
			{Text: "中文识别", Confidence: 0.9, Box: box(20, 20, 220, 60)}, {Text: "测试", Confidence: 0.9, Box: box(260, 20, 400, 60)}}},
		{Text: "Привет κόσμε", Confidence: 0.9, Box: box(20, 100, 400, 140)},
	}
	p := format.Page{Number: 1, Width: 600, Height: 200, Lines: lines, Image: img}
	got := string(run(t, pdftotext, writeTemp(t, "cjk.pdf", render(t, format.PDF, p)), "-"))
	want := "中文识别 测试\nПривет κόσμε"
	if cer := textmetric.CER(got, want); cer != 0 {
		t.Errorf("pdftotext read %q, want %q (CER %.3f)", got, want, cer)
	}
}

// TestRuns: the runs of the sample are its words, a space after all but
// each line's last, scaled to their boxes' lengths in the glyphless
// font's uniform advance; text in any script (CJK, full-width Latin) is
// kept as read.
func TestRuns(t *testing.T) {
	box := function.Quad{{X: 0, Y: 0}, {X: 100, Y: 0}, {X: 100, Y: 20}, {X: 0, Y: 20}}
	for _, text := range []string{"中文识别", "ｆｕｌｌ：ｗｉｄｔｈ", "𝔸𠀀"} {
		runs := format.Runs(format.Page{Lines: []function.Line{{Text: text, Box: box}}})
		if len(runs) != 1 || runs[0].Text != text {
			t.Fatalf("runs of %q: %+v", text, runs)
		}
		r := runs[0]
		// Height 20 px is the size (ascent plus descent make an em); the
		// advance is half an em per character.
		if got := r.Matrix[0] * r.Size * float64(glyphless.Advance) / glyphless.UnitsPerEm * float64(utf8.RuneCountInString(text)); r.Size != 20 || math.Abs(got-100) > 1e-9 {
			t.Errorf("%q: size %v, set %v px long, want 20 and 100", text, r.Size, got)
		}
	}
	s := readSample(t)
	runs := format.Runs(s.page)
	var words []string
	for _, r := range runs {
		words = append(words, r.Text)
		if r.Size <= 0 || r.Matrix[0] <= 0 || r.Matrix[3] >= 0 {
			t.Errorf("run %q: size %v matrix %v (want upright: x along +x, up along -y)", r.Text, r.Size, r.Matrix)
		}
	}
	var want string
	for _, l := range s.page.Lines {
		want += strings.Join(strings.Fields(l.Text), " ")
	}
	if got := strings.Join(words, ""); len(runs) != len(wordsOf(s.page)) || got != want {
		t.Errorf("%d runs reading %q, want %d words %q", len(runs), got, len(wordsOf(s.page)), want)
	}
}
