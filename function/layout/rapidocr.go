package layout

import (
	"cmp"
	"math"
	"slices"
)

// Quad is a text box: top-left, top-right, bottom-right, bottom-left, each
// {x, y} in image pixels with y growing downwards.
type Quad = [4][2]float64

// rapidOCRSameRowPx is RapidOCR's hard-coded same-row tolerance in pixels.
const rapidOCRSameRowPx = 10

// RapidOCRSort returns the permutation RapidOCR v1.4.4 main.py:220-244 applies:
// a stable sort by (p0.y, p0.x), then a single bubble pass that moves a box left
// of its predecessor while their p0.y differ by less than 10 pixels. The early
// break is part of the reference: it makes the result non-transitive, and it is
// kept.
func RapidOCRSort(boxes []Quad) []int {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := boxes[a][0], boxes[b][0]
		if c := cmp.Compare(pa[1], pb[1]); c != 0 {
			return c
		}
		return cmp.Compare(pa[0], pb[0])
	})
	for i := 0; i < len(order)-1; i++ {
		for j := i; j >= 0; j-- {
			prev, next := boxes[order[j]][0], boxes[order[j+1]][0]
			if math.Abs(next[1]-prev[1]) < rapidOCRSameRowPx && next[0] < prev[0] {
				order[j], order[j+1] = order[j+1], order[j]
			} else {
				break
			}
		}
	}
	return order
}
