package function_test

import (
	"context"
	"os"
	"testing"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// TestRecTightReadsShortLines: short lines (labels, prices, table cells)
// recognised in a batch one line height wider than the widest of them
// read as they do padded to RapidOCR's 320, down to a last character
// that needs blank columns after it, from fewer input columns.
func TestRecTightReadsShortLines(t *testing.T) {
	m := loadModels(t, testenv.Models(t))
	defer m.Close()
	short := []string{"Total:", "EUR 5.80", "No. 17", "x4", "Price?"}
	t.Run("rendered", func(t *testing.T) {
		checkTight(t, m, renderPage(t, short, 24, "rgb", false), len(short))
	})
	// A poster of short Chinese labels, prices among them: read flush to
	// the edge, its "券后价￥" lost the ￥.
	t.Run("rapidocr_ch_en_num.jpg", func(t *testing.T) {
		data, err := os.ReadFile(testenv.Shared(t, "testdata/external/rapidocr_ch_en_num.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		checkTight(t, m, data, 0)
	})
}

// checkTight reads data with RecTight off and on; want is the number of
// lines to read (0: any).
func checkTight(t *testing.T, m function.Models, data []byte, want int) {
	img, _, err := imageio.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	read := func(tight bool) ([]string, int) {
		o := function.DefaultOptions()
		o.RecTight = tight
		cols := 0
		ctx := function.WithTrace(context.Background(), &function.Trace{
			Input: func(k function.Kind, _ []float32, shape []int64) {
				if k == function.KindRec {
					cols += int(shape[0] * shape[3])
				}
			},
		})
		res, err := function.Run(ctx, m, img, o)
		if err != nil {
			t.Fatal(err)
		}
		var text []string
		for _, l := range res.Lines {
			text = append(text, l.Text)
		}
		return text, cols
	}
	padded, colsPadded := read(false)
	tight, colsTight := read(true)
	t.Logf("padded, %d columns: %q; tight, %d columns: %q", colsPadded, padded, colsTight, tight)
	if want > 0 && len(padded) != want {
		t.Fatalf("padded: %d lines read, want %d: %q", len(padded), want, padded)
	}
	if len(tight) != len(padded) {
		t.Fatalf("tight: %d lines, padded %d", len(tight), len(padded))
	}
	for i := range tight {
		if tight[i] != padded[i] {
			t.Errorf("line %d: tight reads %q, padded %q", i, tight[i], padded[i])
		}
	}
	if colsTight >= colsPadded {
		t.Errorf("recognition input %d columns tight, %d padded: want fewer tight", colsTight, colsPadded)
	}
}
