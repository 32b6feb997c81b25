// Package tablemetric scores a recognised table against its ground truth:
// cell accuracy (the share of true cells whose normalised text the
// prediction has at the same row and column) and TEDS, the tree-edit-
// distance similarity PubTabNet is scored with (Zhong et al., "Image-based
// table recognition: data, model, and evaluation", 2020).
package tablemetric

import (
	"slices"

	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// Cell is one cell of a table, written once at its top-left position.
type Cell struct {
	Row, Col, RowSpan, ColSpan int
	Text                       string
}

// Grid lays cells out as rows of texts, a spanned cell's text at its
// top-left position and the positions it covers empty.
func Grid(cells []Cell) [][]string {
	rows, cols := 0, 0
	for _, c := range cells {
		rows, cols = max(rows, c.Row+max(1, c.RowSpan)), max(cols, c.Col+max(1, c.ColSpan))
	}
	g := make([][]string, rows)
	for r := range g {
		g[r] = make([]string, cols)
	}
	for _, c := range cells {
		g[c.Row][c.Col] = c.Text
	}
	return g
}

// CellAccuracy is the share of the true cells whose normalised text equals
// that of the predicted grid at the same row and column (a position the
// prediction lacks reads as empty).
func CellAccuracy(got, want []Cell) float64 {
	if len(want) == 0 {
		return 1
	}
	g := Grid(got)
	ok := 0
	for _, c := range want {
		var s string
		if c.Row < len(g) && c.Col < len(g[c.Row]) {
			s = g[c.Row][c.Col]
		}
		if string(textmetric.Normalize(s)) == string(textmetric.Normalize(c.Text)) {
			ok++
		}
	}
	return float64(ok) / float64(len(want))
}

// node is an HTML element of the table tree: table, tr or td.
type node struct {
	tag              string
	rowSpan, colSpan int
	text             string
	kids             []*node
}

func tree(cells []Cell) *node {
	cells = slices.Clone(cells)
	slices.SortFunc(cells, func(a, b Cell) int {
		if a.Row != b.Row {
			return a.Row - b.Row
		}
		return a.Col - b.Col
	})
	root := &node{tag: "table"}
	rows := 0
	for _, c := range cells {
		rows = max(rows, c.Row+1)
	}
	trs := make([]*node, rows)
	for r := range trs {
		trs[r] = &node{tag: "tr"}
		root.kids = append(root.kids, trs[r])
	}
	for _, c := range cells {
		trs[c.Row].kids = append(trs[c.Row].kids, &node{tag: "td", rowSpan: max(1, c.RowSpan), colSpan: max(1, c.ColSpan), text: c.Text})
	}
	return root
}

// TEDS is 1 - TED(got, want) / max(|got|, |want|) over the HTML trees of
// the two tables, where inserting or deleting a node costs 1, renaming one
// 1, and a td costs 1 where the spans differ, else the normalised edit
// distance of the texts.
func TEDS(got, want []Cell) float64 {
	a, b := postorder(tree(got)), postorder(tree(want))
	n := max(len(a.nodes), len(b.nodes))
	if n == 0 {
		return 1
	}
	return 1 - zhangShasha(a, b)/float64(n)
}

func rename(x, y *node) float64 {
	if x.tag != y.tag {
		return 1
	}
	if x.tag != "td" {
		return 0
	}
	if x.rowSpan != y.rowSpan || x.colSpan != y.colSpan {
		return 1
	}
	d, l := textmetric.Distance(x.text, y.text)
	if l == 0 {
		return 0
	}
	return float64(d) / float64(l)
}

// ordered is a tree in postorder with each node's leftmost leaf and the
// keyroots, as Zhang and Shasha's algorithm needs them.
type ordered struct {
	nodes    []*node
	leftmost []int
	keyroots []int
}

func postorder(root *node) ordered {
	var o ordered
	var walk func(n *node) int
	walk = func(n *node) int {
		left := -1
		for k, c := range n.kids {
			l := walk(c)
			if k == 0 {
				left = l
			}
		}
		o.nodes = append(o.nodes, n)
		if left < 0 {
			left = len(o.nodes) - 1
		}
		o.leftmost = append(o.leftmost, left)
		return left
	}
	walk(root)
	seen := map[int]bool{}
	for i := len(o.nodes) - 1; i >= 0; i-- {
		if !seen[o.leftmost[i]] {
			seen[o.leftmost[i]] = true
			o.keyroots = append(o.keyroots, i)
		}
	}
	slices.Sort(o.keyroots)
	return o
}

// zhangShasha is the tree edit distance of Zhang and Shasha (1989).
func zhangShasha(a, b ordered) float64 {
	td := make([][]float64, len(a.nodes))
	for i := range td {
		td[i] = make([]float64, len(b.nodes))
	}
	for _, i := range a.keyroots {
		for _, j := range b.keyroots {
			li, lj := a.leftmost[i], b.leftmost[j]
			m, n := i-li+2, j-lj+2
			fd := make([][]float64, m)
			for x := range fd {
				fd[x] = make([]float64, n)
			}
			for x := 1; x < m; x++ {
				fd[x][0] = fd[x-1][0] + 1
			}
			for y := 1; y < n; y++ {
				fd[0][y] = fd[0][y-1] + 1
			}
			for x := 1; x < m; x++ {
				for y := 1; y < n; y++ {
					ni, nj := li+x-1, lj+y-1
					del, ins := fd[x-1][y]+1, fd[x][y-1]+1
					if a.leftmost[ni] == li && b.leftmost[nj] == lj {
						fd[x][y] = min(del, ins, fd[x-1][y-1]+rename(a.nodes[ni], b.nodes[nj]))
						td[ni][nj] = fd[x][y]
					} else {
						p, q := a.leftmost[ni]-li, b.leftmost[nj]-lj
						fd[x][y] = min(del, ins, fd[p][q]+td[ni][nj])
					}
				}
			}
		}
	}
	return td[len(a.nodes)-1][len(b.nodes)-1]
}
