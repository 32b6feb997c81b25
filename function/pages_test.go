package function_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// The scanned magazine page reads column by column, the caption set
// between the columns after them, as its upstream transcription does.
func TestMagazinePageReadingOrder(t *testing.T) {
	dir := testenv.Shared(t, "testdata/documents")
	data, err := os.ReadFile(filepath.Join(dir, "tesseract_8087_054.3B.tif"))
	if err != nil {
		t.Fatal(err)
	}
	gt, err := os.ReadFile(filepath.Join(dir, "tesseract_8087_054.3B.gt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageio.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := function.Run(context.Background(), testenv.LoadAll(t), img, function.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	cer := textmetric.CER(res.Text(), string(gt))
	t.Logf("CER %.4f (Tesseract 5.3: 0.075)", cer)
	if cer > 0.05 {
		t.Errorf("CER %.4f > 0.05; text:\n%s", cer, res.Text())
	}
	if res.Blocks[0].Type != "header" {
		t.Errorf("first block is a %s, want the header", res.Blocks[0].Type)
	}
	// Two columns on a baseline grid align row for row, but are no table.
	if len(res.Tables) != 0 {
		t.Errorf("%d tables on a page without one; the first:\n%s", len(res.Tables), res.Tables[0].Markdown)
	}
	// The race detector slows Go code, not inference, so the share is
	// checked without it (BenchmarkLayout reports it over more pages).
	infer := res.Timings.DetInfer + res.Timings.ClsInfer + res.Timings.RecInfer
	share := 100 * res.Timings.Order.Seconds() / infer.Seconds()
	t.Logf("layout %v, %.2f%% of inference %v", res.Timings.Order, share, infer)
	if !testenv.Race() && share > 2 {
		t.Errorf("layout took %.2f%% of inference time, want at most 2%%", share)
	}
}

// composer draws a generated page in the Go font: elements placed by hand,
// each with its text and the block type the analysis should give it.
type composer struct {
	img   *image.RGBA
	faces map[float64]font.Face
	elems []element
}

// element is a placed piece of text: its bounds, text and expected type.
type element struct {
	box  image.Rectangle
	text string
	typ  string
}

func newComposer(t *testing.T, w, h int) *composer {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{252, 252, 250, 255}), image.Point{}, draw.Src)
	return &composer{img: img, faces: map[float64]font.Face{}}
}

func (c *composer) face(t *testing.T, px float64) font.Face {
	if f, ok := c.faces[px]; ok {
		return f
	}
	face := testenv.GoFace(t, px)
	c.faces[px] = face
	return face
}

// text draws one line with its top-left at (x, y) and records it.
func (c *composer) text(t *testing.T, x, y int, px float64, s, typ string) {
	face := c.face(t, px)
	d := &font.Drawer{Dst: c.img, Src: image.NewUniform(color.RGBA{15, 15, 20, 255}), Face: face}
	d.Dot = fixed.P(x, y+int(px))
	d.DrawString(s)
	w := font.MeasureString(face, s).Ceil()
	c.elems = append(c.elems, element{image.Rect(x, y, x+w, y+int(px*1.3)), s, typ})
}

var bodyWords = strings.Fields("Harbour walls rise from the sea below the old town, and every morning the " +
	"fishing boats come home past the fortress with their catch. Visitors walk the ramparts at dawn, " +
	"before the heat, and look down on roofs of red tile rebuilt after the war. The city has weathered " +
	"sieges, earthquakes and fires for a thousand years, and its people speak of each as of yesterday.")

// column sets running text in a column of width w from (x, y): n lines at
// the given pitch, wrapped at word boundaries, starting at word k.
func (c *composer) column(t *testing.T, x, y, w, n, pitch int, px float64, k *int) {
	face := c.face(t, px)
	for i := range n {
		line := bodyWords[*k%len(bodyWords)]
		for *k++; font.MeasureString(face, line+" "+bodyWords[*k%len(bodyWords)]).Ceil() <= w; *k++ {
			line += " " + bodyWords[*k%len(bodyWords)]
		}
		c.text(t, x, y+i*pitch, px, line, "paragraph")
	}
}

// picture paints a photo-like patch.
func (c *composer) picture(r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := uint8(40 + (x*31+y*17+(x*y)%23)%120)
			c.img.Set(x, y, color.RGBA{v, v / 2, 255 - v, 255})
		}
	}
}

func (c *composer) png(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, c.img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// want is the elements' text in the order they were placed, which each
// generated page places in reading order.
func (c *composer) want(skip func(element) bool) string {
	var s []string
	for _, e := range c.elems {
		if skip == nil || !skip(e) {
			s = append(s, e.text)
		}
	}
	return strings.Join(s, "\n")
}

func generatedPages(t *testing.T) map[string]*composer {
	pages := map[string]*composer{}
	const W, H, px, pitch = 1700, 2200, 26.0, 38
	for _, n := range []int{2, 3, 4} {
		c := newComposer(t, W, H)
		gutter := 60
		colW := (W - 200 - gutter*(n-1)) / n
		k := 0
		for col := range n {
			c.column(t, 100+col*(colW+gutter), 150, colW, 40, pitch, px, &k)
		}
		pages[string(rune('0'+n))+" columns on a baseline grid"] = c
	}
	{
		c := newComposer(t, W, H)
		c.text(t, 350, 100, 64, "Dubrovnik Rebuilds Its Walls", "title")
		k := 0
		c.column(t, 100, 260, 720, 36, pitch, px, &k)
		c.column(t, 880, 260, 720, 36, pitch, px, &k)
		pages["headline across columns"] = c
	}
	{
		c := newComposer(t, W, H)
		k := 0
		c.column(t, 100, 150, 720, 12, pitch, px, &k)
		c.picture(image.Rect(100, 620, 820, 1100))
		c.text(t, 180, 1120, 22, "Figure 2: The harbour at dawn.", "caption")
		c.column(t, 100, 1190, 720, 20, pitch, px, &k)
		c.column(t, 880, 150, 720, 44, pitch, px, &k)
		pages["picture with caption in a column"] = c
	}
	{
		c := newComposer(t, W, H)
		c.text(t, 700, 60, 22, "TRAVEL AND LEISURE", "header")
		k := 0
		c.column(t, 100, 150, 720, 44, pitch, px, &k)
		c.column(t, 880, 150, 720, 44, pitch, px, &k)
		c.text(t, 100, 2080, 22, "Printed in Dubrovnik by the harbour press", "footer")
		c.text(t, 1560, 2080, 22, "54", "page_number")
		pages["footer and page number"] = c
	}
	{
		c := newComposer(t, W, H)
		k := 0
		c.column(t, 100, 150, 720, 24, pitch, px, &k)
		rows := [][3]string{{"Item", "Count", "Price"}, {"Tiles", "250", "1,200.00"}, {"Cement", "40", "310.50"},
			{"Glass", "12", "98.20"}, {"Timber", "75", "640.00"}, {"Nails", "900", "45.90"}, {"Paint", "30", "212.75"},
			{"Rope", "16", "33.10"}, {"Sand", "60", "120.00"}, {"Lime", "22", "87.40"}}
		for r, row := range rows {
			for col, cell := range row {
				c.text(t, 900+col*240, 150+r*pitch, px, cell, "table")
			}
		}
		pages["table beside a text column"] = c
	}
	return pages
}

// Generated pages read in their true order and every element lands in a
// block of the right type.
func TestGeneratedPageLayouts(t *testing.T) {
	models := testenv.LoadAll(t)
	for name, c := range generatedPages(t) {
		t.Run(name, func(t *testing.T) {
			img, _, err := imageio.Decode(c.png(t))
			if err != nil {
				t.Fatal(err)
			}
			res, err := function.Run(context.Background(), models, img, function.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			want := c.want(nil)
			if cer := textmetric.CER(res.Text(), want); cer > 0.01 {
				t.Errorf("CER %.4f > 0.01\n got %s\nwant %s", cer, res.Text(), want)
			}
			checkGeneratedPageTables(t, c, res)
			typeOf := make([]string, len(res.Lines))
			for _, b := range res.Blocks {
				for _, i := range b.Lines {
					typeOf[i] = b.Type
				}
			}
			for _, e := range c.elems {
				for i, l := range res.Lines {
					cx, cy := (l.Box[0].X+l.Box[2].X)/2, (l.Box[0].Y+l.Box[2].Y)/2
					if image.Pt(int(cx), int(cy)).In(e.box) && typeOf[i] != e.typ {
						t.Errorf("%q reads as a %s, want %s", l.Text, typeOf[i], e.typ)
					}
				}
			}
		})
	}
}

// checkGeneratedPageTables: a page of text has no table; a page with one
// reads it into its grid, row by row, the cells in the order placed.
func checkGeneratedPageTables(t *testing.T, c *composer, res *function.Result) {
	t.Helper()
	var cells []string
	for _, e := range c.elems {
		if e.typ == "table" {
			cells = append(cells, e.text)
		}
	}
	if len(cells) == 0 {
		if len(res.Tables) != 0 {
			t.Errorf("%d tables on a page of text; the first:\n%s", len(res.Tables), res.Tables[0].Markdown)
		}
		return
	}
	if len(res.Tables) != 1 {
		t.Fatalf("%d tables, want 1", len(res.Tables))
	}
	tb := res.Tables[0]
	if tb.Rows*tb.Cols != len(cells) || len(tb.Cells) != len(cells) {
		t.Fatalf("%dx%d grid of %d cells for %d placed cells:\n%s", tb.Rows, tb.Cols, len(tb.Cells), len(cells), tb.Markdown)
	}
	for k, cell := range tb.Cells {
		if string(textmetric.Normalize(cell.Text)) != string(textmetric.Normalize(cells[k])) {
			t.Errorf("cell %d,%d reads %q, want %q", cell.Row, cell.Col, cell.Text, cells[k])
		}
	}
}

// BenchmarkLayout reports the layout analysis (ink map, gutters, regions,
// types, order: Timings.Order) as a share of the page's inference time, on
// the shared document pages and the generated ones. README: at most 2%.
func BenchmarkLayout(b *testing.B) {
	benchStageShare(b, []string{"tesseract_8087_054.3B.tif", "paddleocr_table_1.png", "tablebank_004.png"},
		func(t function.Timings) time.Duration { return t.Order }, "layout")
}

// benchStageShare runs the pipeline on the named shared document pages and
// reports one stage's time as a share of inference (<name>-%) and per page
// (<name>-ms/page).
func benchStageShare(b *testing.B, names []string, stage func(function.Timings) time.Duration, name string) {
	models := testenv.LoadAll(b)
	var imgs [][]byte
	dir := testenv.Shared(b, "testdata/documents")
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			b.Fatal(err)
		}
		imgs = append(imgs, data)
	}
	var spent, infer float64
	for b.Loop() {
		for _, data := range imgs {
			img, _, err := imageio.Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			res, err := function.Run(context.Background(), models, img, function.DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			t := res.Timings
			spent += stage(t).Seconds()
			infer += (t.DetInfer + t.ClsInfer + t.RecInfer).Seconds()
		}
	}
	b.ReportMetric(100*spent/infer, name+"-%")
	b.ReportMetric(1000*spent/float64(b.N*len(imgs)), name+"-ms/page")
}
