package function_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

var renderLines = []string{
	"Invoice 2024-0117 due on 15 March",
	"Total amount: 1,284.50 EUR",
	"The quick brown fox jumps over the lazy dog.",
	"Serverless OCR with warm model pools",
}

// renderPage draws lines in the Go font at size pt, dark on light, into an
// image of the requested kind; upsideDown turns the page 180°.
func renderPage(t testing.TB, lines []string, pt float64, kind string, upsideDown bool) []byte {
	t.Helper()
	face := testenv.GoFace(t, pt)
	defer face.Close()
	lineH := int(pt * 1.8)
	margin := int(pt)
	width := 0
	for _, l := range lines {
		width = max(width, font.MeasureString(face, l).Ceil())
	}
	w, h := width+2*margin, lineH*len(lines)+2*margin
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(rgba, rgba.Bounds(), image.NewUniform(color.RGBA{250, 248, 240, 255}), image.Point{}, draw.Src)
	d := &font.Drawer{Dst: rgba, Src: image.NewUniform(color.RGBA{20, 20, 40, 255}), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(margin, margin+i*lineH+int(pt))
		d.DrawString(l)
	}
	var out image.Image = rgba
	if upsideDown {
		rot := image.NewRGBA(rgba.Bounds())
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				rot.Set(w-1-x, h-1-y, rgba.At(x, y))
			}
		}
		out = rot
	}
	if kind == "gray" {
		g := image.NewGray(out.Bounds())
		draw.Draw(g, g.Bounds(), out, image.Point{}, draw.Src)
		out = g
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRenderedText(t *testing.T) {
	models := testenv.LoadAll(t)
	want := strings.Join(renderLines, "\n")
	for _, pt := range []float64{14, 22, 40} {
		for _, kind := range []string{"gray", "rgba"} {
			for _, flip := range []bool{false, true} {
				name := fmt.Sprintf("%vpt/%s/upside-down=%v", pt, kind, flip)
				t.Run(name, func(t *testing.T) {
					img, _, err := imageio.Decode(renderPage(t, renderLines, pt, kind, flip))
					if err != nil {
						t.Fatal(err)
					}
					res, err := function.Run(context.Background(), models, img, function.DefaultOptions())
					if err != nil {
						t.Fatal(err)
					}
					got := res.Text()
					cer := textmetric.CER(got, want)
					t.Logf("CER %.4f", cer)
					if cer > 0.02 {
						t.Errorf("CER %.4f > 0.02; got:\n%s", cer, got)
					}
					rotated := 0
					for _, l := range res.Lines {
						if l.Rotated {
							rotated++
						}
					}
					if flip && rotated != len(res.Lines) || !flip && rotated != 0 {
						t.Errorf("%d of %d lines turned by the classifier, upside-down=%v", rotated, len(res.Lines), flip)
					}
				})
			}
		}
	}
}
