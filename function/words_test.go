package function_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// inkWord is a word drawn on a test page and the bounds of its ink.
type inkWord struct {
	text string
	box  image.Rectangle
}

// renderWords draws lines in the Go font at size pt and returns the PNG
// and each word's ink bounds, measured from the pixels drawn, then turns
// the page by quarter turns clockwise (0-3), boxes included.
func renderWords(t testing.TB, lines []string, pt float64, turns int) ([]byte, []inkWord) {
	t.Helper()
	face := testenv.GoFace(t, pt)
	defer face.Close()
	lineH, margin := int(pt*1.8), int(pt)
	width := 0
	for _, l := range lines {
		width = max(width, font.MeasureString(face, l).Ceil())
	}
	w, h := width+2*margin, lineH*len(lines)+2*margin
	page := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(page, page.Bounds(), image.White, image.Point{}, draw.Src)
	var words []inkWord
	for i, l := range lines {
		x := fixed.I(margin)
		base := margin + i*lineH + int(pt)
		for k, word := range strings.Split(l, " ") {
			if k > 0 {
				x += font.MeasureString(face, " ")
			}
			// Each word on its own layer first, to measure its ink
			// (within the font's bounds of the word, to keep it quick).
			layer := image.NewAlpha(page.Bounds())
			dot := fixed.Point26_6{X: x, Y: fixed.I(base)}
			d := &font.Drawer{Dst: layer, Src: image.Opaque, Face: face, Dot: dot}
			fb, _ := d.BoundString(word)
			d.DrawString(word)
			x = d.Dot.X
			ink := image.Rectangle{}
			area := image.Rect(fb.Min.X.Floor()-1, fb.Min.Y.Floor()-1, fb.Max.X.Ceil()+1, fb.Max.Y.Ceil()+1).Intersect(page.Bounds())
			for y := area.Min.Y; y < area.Max.Y; y++ {
				for xx := area.Min.X; xx < area.Max.X; xx++ {
					if layer.AlphaAt(xx, y).A > 64 {
						ink = ink.Union(image.Rect(xx, y, xx+1, y+1))
					}
				}
			}
			draw.DrawMask(page, page.Bounds(), image.NewUniform(color.Gray{20}), image.Point{}, layer, image.Point{}, draw.Over)
			words = append(words, inkWord{word, ink})
		}
	}
	var out image.Image = page
	for range turns {
		b := out.Bounds()
		rot := image.NewGray(image.Rect(0, 0, b.Dy(), b.Dx()))
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				rot.Set(b.Dy()-1-y, x, out.At(x, y)) // clockwise
			}
		}
		for i, wd := range words {
			r := wd.box
			words[i].box = image.Rect(b.Dy()-r.Max.Y, r.Min.X, b.Dy()-r.Min.Y, r.Max.X)
		}
		out = rot
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), words
}

func bounds(q function.Quad) (x0, y0, x1, y1 float64) {
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range q {
		x0, y0, x1, y1 = min(x0, p.X), min(y0, p.Y), max(x1, p.X), max(y1, p.Y)
	}
	return
}

// TestWordBoxes reads rendered pages, upright and turned by a quarter,
// half and three quarters, and checks that the words are the line's text
// split at its spaces, each with a confidence in (0, 1], and that the
// words read right lie where they were drawn: along the line, each end of
// the box within 0.35 of the font size of the word's ink (a CTC time step
// is about a sixth of the line's height, so this is one to two steps);
// across it, within half the font size (the line box's margin). Small
// text, where the recogniser leaves spaces out, is left out: a line read
// without spaces is one word.
func TestWordBoxes(t *testing.T) {
	models := testenv.LoadAll(t)
	lines := []string{
		"Invoice 2024-0117 due on 15 March",
		"Total amount: 1,284.50 EUR",
		"The quick brown fox jumps over the lazy dog.",
	}
	for _, pt := range []float64{40} {
		for turns := range 4 {
			t.Run(fmt.Sprintf("%vpt/%d°", pt, 90*turns), func(t *testing.T) {
				data, truth := renderWords(t, lines, pt, turns)
				img, _, err := imageio.Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				res, err := function.Run(context.Background(), models, img, function.DefaultOptions())
				if err != nil {
					t.Fatal(err)
				}
				byText := map[string][]image.Rectangle{}
				for _, w := range truth {
					byText[w.text] = append(byText[w.text], w.box)
				}
				matched, worst := 0, 0.0
				seen := map[*image.Rectangle]bool{}
				for _, l := range res.Lines {
					var texts []string
					for _, w := range l.Words {
						texts = append(texts, w.Text)
						if w.Confidence <= 0 || w.Confidence > 1 {
							t.Errorf("word %q confidence %v", w.Text, w.Confidence)
						}
						x0, y0, x1, y1 := bounds(w.Box)
						for k := range byText[w.Text] {
							r := byText[w.Text][k]
							along := max(math.Abs(x0-float64(r.Min.X)), math.Abs(x1-float64(r.Max.X)))
							across := max(math.Abs(y0-float64(r.Min.Y)), math.Abs(y1-float64(r.Max.Y)))
							if turns%2 == 1 {
								along, across = across, along
							}
							if along > pt || across > pt || seen[&byText[w.Text][k]] {
								continue // a twin drawn elsewhere ("the", "The")
							}
							seen[&byText[w.Text][k]] = true
							matched++
							worst = max(worst, along)
							if along > 0.35*pt || across > 0.5*pt {
								t.Errorf("%q off by %.1f px along the line, %.1f across", w.Text, along, across)
							}
						}
					}
					if got, want := strings.Join(texts, " "), strings.Join(strings.Fields(l.Text), " "); got != want {
						t.Errorf("words %q, line %q", got, want)
					}
				}
				t.Logf("%d of %d words read and placed, worst end %.1f px (%.2f of the font size)", matched, len(truth), worst, worst/pt)
				if matched < len(truth)/2 {
					t.Errorf("only %d of %d words found near their ink", matched, len(truth))
				}
			})
		}
	}
}
