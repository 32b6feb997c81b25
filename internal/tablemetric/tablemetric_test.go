package tablemetric

import (
	"math"
	"testing"
)

func grid(rows [][]string) []Cell {
	var cells []Cell
	for r, row := range rows {
		for c, s := range row {
			cells = append(cells, Cell{Row: r, Col: c, RowSpan: 1, ColSpan: 1, Text: s})
		}
	}
	return cells
}

func TestCellAccuracy(t *testing.T) {
	want := grid([][]string{{"a", "b"}, {"1", "2"}})
	if got := CellAccuracy(want, want); got != 1 {
		t.Errorf("identical: %v, want 1", got)
	}
	if got := CellAccuracy(grid([][]string{{"a", "b"}, {"1", "x"}}), want); got != 0.75 {
		t.Errorf("one wrong: %v, want 0.75", got)
	}
	if got := CellAccuracy(grid([][]string{{"a b", "b"}}), grid([][]string{{"ab", "b"}, {"1", "2"}})); got != 0.5 {
		t.Errorf("whitespace ignored, missing row empty: %v, want 0.5", got)
	}
}

func TestTEDS(t *testing.T) {
	want := grid([][]string{{"a", "b"}, {"1", "2"}})
	if got := TEDS(want, want); got != 1 {
		t.Errorf("identical: %v, want 1", got)
	}
	// Table, 2 rows, 4 cells: 7 nodes. A missing row deletes a tr and two
	// tds: 1 - 3/7.
	if got := TEDS(grid([][]string{{"a", "b"}}), want); math.Abs(got-(1-3.0/7)) > 1e-9 {
		t.Errorf("missing row: %v, want %v", got, 1-3.0/7)
	}
	// One cell's text half wrong: 1 - 0.5/7.
	if got := TEDS(grid([][]string{{"a", "b"}, {"1", "2x"}}), want); math.Abs(got-(1-0.5/7)) > 1e-9 {
		t.Errorf("half a cell: %v, want %v", got, 1-0.5/7)
	}
	// A span that differs costs a whole cell.
	spanned := []Cell{{0, 0, 1, 2, "ab"}, {1, 0, 1, 1, "1"}, {1, 1, 1, 1, "2"}}
	split := []Cell{{0, 0, 1, 1, "ab"}, {0, 1, 1, 1, ""}, {1, 0, 1, 1, "1"}, {1, 1, 1, 1, "2"}}
	if got := TEDS(split, spanned); math.Abs(got-(1-2.0/7)) > 1e-9 {
		t.Errorf("span missed: %v, want %v", got, 1-2.0/7)
	}
}
