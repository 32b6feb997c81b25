package table

import (
	"math"
	"slices"
)

// segment is a ruling line in the level frame: at pos across its
// direction, from lo to hi along it.
type segment struct{ pos, lo, hi float64 }

// darkBelow is how much darker than the paper a ruling's pixel is.
const darkBelow = 64

// A horizontal run shorter than textRunMax·H inside a line's core (its box
// less textCore of its height at top and bottom) is text, not a ruling.
const (
	textRunMax = 4.0
	textCore   = 0.25
)

// findRulings binarises the page around the lines, in the level frame, and
// keeps the long thin runs of ink: a morphological opening with a line
// element, written as run lengths. Runs in neighbouring rows (columns)
// that overlap are one ruling; a short gap (JPEG noise, a faint print) is
// bridged.
func (a *analysis) findRulings(img *Image, f frame) {
	if img.W <= 0 || img.H <= 0 || len(img.Pix) < img.W*img.H*3 {
		return
	}
	m, mx := rulingMargin*a.lineH, rulingMarginX*a.lineH
	x0, y0 := math.Floor(a.bounds.x0-mx), math.Floor(a.bounds.y0-m)
	w, h := int(a.bounds.x1+mx-x0)+1, int(a.bounds.y1+m-y0)+1
	gray := make([]int16, w*h)
	var hist [256]int
	for v := range h {
		for u := range w {
			px, py := f.page(x0+float64(u), y0+float64(v))
			ix, iy := int(math.Round(px)), int(math.Round(py))
			g := int16(-1) // off the page
			if ix >= 0 && iy >= 0 && ix < img.W && iy < img.H {
				k := (iy*img.W + ix) * 3
				g = int16((int(img.Pix[k]) + int(img.Pix[k+1]) + int(img.Pix[k+2])) / 3)
				hist[g]++
			}
			gray[v*w+u] = g
		}
	}
	paper := 255
	for g := 255; g >= 128; g-- {
		if hist[g] > hist[paper] {
			paper = g
		}
	}
	dark := make([]bool, w*h)
	for k, g := range gray {
		dark[k] = g >= 0 && int(g) < paper-darkBelow
	}
	bridge := max(1, int(a.lineH/8))
	thick := maxRulingT * a.lineH
	a.hRules = rulings(dark, w, h, true, int(minRulingH*a.lineH), bridge, thick, x0, y0)
	a.vRules = rulings(dark, w, h, false, int(minRulingV*a.lineH), bridge, thick, x0, y0)
	a.hRules = a.dropText(a.hRules, true)
	a.vRules = a.dropText(a.vRules, false)
	// A rule beside the lines, not across their extent, is another
	// block's (the window reaches wide for the borders).
	a.hRules = slices.DeleteFunc(a.hRules, func(s segment) bool {
		return min(s.hi, a.bounds.x1)-max(s.lo, a.bounds.x0) < a.lineH
	})
}

// dropText drops the runs that lie in the core of a text line: letters
// that touch in a small or bold face, not a ruling, which lies between
// the lines or at their edge (the detector's boxes are padded).
func (a *analysis) dropText(segs []segment, horizontal bool) []segment {
	return slices.DeleteFunc(segs, func(s segment) bool {
		if horizontal && s.hi-s.lo >= textRunMax*a.lineH {
			return false
		}
		for i, r := range a.rects {
			core := textCore * r.h()
			if horizontal && s.pos > r.y0+core && s.pos < r.y1-core && s.lo < r.x1 && s.hi > r.x0 {
				return true
			}
			x0, x1 := a.narrow(i)
			if !horizontal && s.pos > x0 && s.pos < x1 && s.lo < r.y1-core && s.hi > r.y0+core {
				return true
			}
		}
		return false
	})
}

// rulings finds runs at least minLen long along rows (horizontal) or
// columns, joins overlapping runs of neighbouring lines into rulings and
// drops those thicker than thick.
func rulings(dark []bool, w, h int, horizontal bool, minLen, bridge int, thick, x0, y0 float64) []segment {
	along, across := w, h
	at := func(i, j int) bool { return dark[j*w+i] } // i along, j across
	if !horizontal {
		along, across = h, w
		at = func(i, j int) bool { return dark[i*w+j] }
	}
	type run struct {
		lo, hi int
		group  int
	}
	var groups []segment // pos holds the first line, lo/hi the extent; thickness below
	var last []int       // last line of each group
	var prev []run
	for j := range across {
		var cur []run
		for i := 0; i < along; {
			if !at(i, j) {
				i++
				continue
			}
			s, e := i, i
			for k := i + 1; k < along && k-e <= bridge+1; k++ {
				if at(k, j) {
					e = k
				}
			}
			i = e + 1
			if e-s+1 < minLen {
				continue
			}
			g := -1
			for _, p := range prev {
				if p.lo <= e && s <= p.hi {
					g = p.group
					break
				}
			}
			if g < 0 {
				g = len(groups)
				groups = append(groups, segment{pos: float64(j), lo: float64(s), hi: float64(e)})
				last = append(last, j)
			} else {
				groups[g].lo, groups[g].hi = min(groups[g].lo, float64(s)), max(groups[g].hi, float64(e))
				last[g] = j
			}
			cur = append(cur, run{s, e, g})
		}
		prev = cur
	}
	var out []segment
	for g, s := range groups {
		first, end := s.pos, float64(last[g])
		if end-first+1 > max(thick, 2) {
			continue
		}
		seg := segment{pos: (first + end) / 2, lo: s.lo, hi: s.hi + 1}
		if horizontal {
			seg.pos += y0
			seg.lo += x0
			seg.hi += x0
		} else {
			seg.pos += x0
			seg.lo += y0
			seg.hi += y0
		}
		out = append(out, seg)
	}
	return out
}
