package host

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/internal/pdfgen"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// A ruled table in a PDF, with a head over two rows and one over two
// columns, comes back from the rendered page with its exact grid; the
// result's text and Markdown hold it in place.
func TestPDFTable(t *testing.T) {
	testenv.Models(t)
	type cell struct {
		row, col, rowSpan, colSpan int
		text                       string
	}
	cells := []cell{{0, 0, 2, 1, "City"}, {0, 1, 1, 2, "Visitors"}, {1, 1, 1, 1, "2023"}, {1, 2, 1, 1, "2024"}}
	for r, row := range [][3]string{{"Porto", "4812", "5120"}, {"Bergen", "2730", "2915"}, {"Ghent", "1964", "2088"}, {"Split", "3307", "3472"}} {
		for c, s := range row {
			cells = append(cells, cell{r + 2, c, 1, 1, s})
		}
	}
	// PDF space: y grows upwards. Column edges and row edges in points.
	xs := []float64{60, 180, 270, 360}
	ys := []float64{520, 496, 472, 448, 424, 400, 376}
	var b strings.Builder
	b.WriteString("0.8 w\n")
	for _, c := range cells {
		x0, x1, top, bot := xs[c.col], xs[c.col+c.colSpan], ys[c.row], ys[c.row+c.rowSpan]
		// Each cell's four sides: a merged cell has no rule inside it.
		fmt.Fprintf(&b, "%g %g m %g %g l %g %g l %g %g l h S\n", x0, top, x1, top, x1, bot, x0, bot)
		fmt.Fprintf(&b, "BT /F1 12 Tf 1 0 0 1 %g %g Tm (%s) Tj ET\n", x0+8, (top+bot)/2-4, c.text)
	}
	doc := pdfgen.Write([]pdfgen.Page{{W: 420, H: 595, Content: b.String()}})
	h := docHost(t, pdfgen.Lines([]string{"warm up"}))
	// Recognised, not read from the text layer: the rulings that give the
	// spans are found in the rendered image.
	resp, err := h.Invoke(context.Background(), &Request{Data: doc, Options: []byte(`{"markdown":true,"pdf_text":"ocr"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Pages) != 1 || len(resp.Pages[0].Tables) != 1 {
		t.Fatalf("want one page with one table, got %d pages; text:\n%s", len(resp.Pages), resp.Text)
	}
	tb := resp.Pages[0].Tables[0]
	if tb.Rows != 6 || tb.Cols != 3 || len(tb.Cells) != len(cells) {
		t.Fatalf("%dx%d grid of %d cells, want 6x3 of %d:\n%s", tb.Rows, tb.Cols, len(tb.Cells), len(cells), tb.Markdown)
	}
	for k, c := range tb.Cells {
		w := cells[k]
		if c.Row != w.row || c.Col != w.col || c.RowSpan != w.rowSpan || c.ColSpan != w.colSpan ||
			string(textmetric.Normalize(c.Text)) != w.text {
			t.Errorf("cell %+v, want %+v", c, w)
		}
	}
	if !strings.Contains(resp.Markdown, tb.Markdown) || !strings.Contains(resp.Markdown, "| City | Visitors |  |") {
		t.Errorf("Markdown lacks the table:\n%s", resp.Markdown)
	}
	if !strings.Contains(resp.Text, "Porto\t4812\t5120") {
		t.Errorf("text lacks the row Porto 4812 5120, tab-separated:\n%q", resp.Text)
	}
}
