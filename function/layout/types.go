package layout

import (
	"math"
	"slices"
	"strings"
)

// Typing thresholds, relative to the body text's line height.
const (
	marginZone   = 0.12 // headers and footers lie in this top or bottom fraction of the text's extent
	marginGap    = 1.0  // and this far from the body
	marginSize   = 1.3  // and no larger than this
	titleSize    = 1.5  // the largest text at least this large near the top is the title
	headingSize  = 1.2  // short regions at least this large are headings
	maxTitleRows = 3
	captionGap   = 2.5 // a caption starts within this of its picture
	captionRows  = 8
	floatMargin  = 1.0 // a float's neighbours reach this far above and below it
)

// typeRegions gives every region its type (tables and figures are known
// already) and marks floats: captions and other short blocks set between
// two columns, which a reader takes after the text they interrupt.
func (a *analysis) typeRegions() {
	ext := rect{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	var body []*region
	for _, r := range a.regions {
		if a.isFigure(r.lines[0]) {
			r.typ = Figure
			continue
		}
		ext = ext.union(r.rect)
		body = append(body, r)
	}
	if len(body) == 0 {
		return
	}
	a.typeMargins(body, ext)
	var title *region
	for _, r := range body {
		if r.typ != "" || len(r.rows) > maxTitleRows || r.h < titleSize*a.bodyH || r.y0 > ext.y0+ext.h()/3 {
			continue
		}
		if title == nil || r.h > title.h {
			title = r
		}
	}
	if title != nil {
		title.typ = Title
	}
	for _, r := range body {
		switch {
		case r.typ != "":
		case a.isCaption(r):
			r.typ = Caption
		case len(r.rows) <= maxTitleRows && r.h >= headingSize*a.bodyH:
			r.typ = Heading
		default:
			r.typ = Paragraph
		}
	}
	for _, r := range body {
		if r.typ != Header && r.typ != Footer && r.typ != PageNumber {
			r.float = a.isFloat(r)
		}
	}
}

// typeMargins finds headers, footers and page numbers: one- or two-row
// regions of ordinary size at the top or bottom of the text, set apart from
// everything else.
func (a *analysis) typeMargins(body []*region, ext rect) {
	if len(body) < 3 {
		return
	}
	gap := marginGap * a.bodyH
	for _, r := range body {
		if len(r.rows) > 2 || r.h > marginSize*a.bodyH || r.typ == Table {
			continue
		}
		top := r.y1 <= ext.y0+marginZone*ext.h()
		bottom := r.y0 >= ext.y1-marginZone*ext.h()
		if !top && !bottom {
			continue
		}
		apart := true
		for _, o := range body {
			if o == r || o.xOverlap(r.rect) <= 0 && o.yOverlap(r.rect) > 0 {
				continue // beside it: another part of the same header line
			}
			if top && o.y0 < r.y1+gap && len(o.rows) > 2 || bottom && o.y1 > r.y0-gap && len(o.rows) > 2 {
				apart = false
			}
			if top && o.y0 < r.y0 && o.xOverlap(r.rect) > 0 || bottom && o.y1 > r.y1 && o.xOverlap(r.rect) > 0 {
				apart = false // something sits between it and the edge
			}
		}
		for _, p := range a.pictures {
			if p.xOverlap(r.rect) > 0 && (top && p.y0 < r.y0 || bottom && p.y1 > r.y1) {
				apart = false // a picture sits between it and the edge
			}
		}
		if !apart {
			continue
		}
		text := strings.TrimSpace(a.rowText(r.rows[0]))
		switch {
		case len(r.rows) == 1 && rePageNumber.MatchString(text):
			r.typ = PageNumber
		case top:
			r.typ = Header
		default:
			r.typ = Footer
		}
	}
}

// isCaption reports whether a short region is a caption: it says so
// ("Figure 3:"), or it sits right under or over a picture, centred on it
// or in smaller type than the body.
func (a *analysis) isCaption(r *region) bool {
	if len(r.rows) > captionRows {
		return false
	}
	if reCaption.MatchString(strings.TrimSpace(a.rowText(r.rows[0]))) {
		return true
	}
	for _, p := range a.pictures {
		below := r.y0-p.y1 > -0.5*a.lineH && r.y0-p.y1 < captionGap*a.bodyH
		above := p.y0-r.y1 > -0.5*a.lineH && p.y0-r.y1 < captionGap*a.bodyH
		if !below && !above || r.xOverlap(p) < 0.5*r.w() {
			continue
		}
		centred := math.Abs(r.cx()-p.cx()) < 0.1*p.w()+a.lineH && r.w() < 0.9*p.w()
		if centred || r.h < 0.95*a.bodyH {
			return true
		}
	}
	return false
}

// isFloat reports whether text columns run past r on both sides, above and
// below it: a caption set into the gutter, a pull quote.
func (a *analysis) isFloat(r *region) bool {
	if len(r.rows) > captionRows {
		return false
	}
	m := floatMargin * a.bodyH
	var left, right bool
	for _, o := range a.regions {
		if o == r || o.typ == Figure || len(o.rows) <= len(r.rows) || o.y0 > r.y0-m || o.y1 < r.y1+m {
			continue
		}
		left = left || o.x1 <= r.x0+a.lineH && o.x0 < r.x0
		right = right || o.x0 >= r.x1-a.lineH && o.x1 > r.x1
	}
	return left && right
}

// blocks splits a region into the blocks it reads as: a text region into
// paragraphs, headings, captions and lists; any other region is one block.
func (a *analysis) blocks(r *region) []Block {
	if r.typ == Table && len(r.rows) > 1 && reCaption.MatchString(strings.TrimSpace(a.rowText(r.rows[0]))) {
		// A table's caption set right over it joins its region.
		return []Block{{Type: Caption, Lines: r.rows[0]}, {Type: Table, Lines: slices.Concat(r.rows[1:]...)}}
	}
	if r.typ != Paragraph {
		return []Block{{Type: r.typ, Lines: slices.Concat(r.rows...)}}
	}
	var out []Block
	start := 0
	for k := 1; k <= len(r.rows); k++ {
		if k < len(r.rows) && !a.breaksBefore(r, k) {
			continue
		}
		rows := r.rows[start:k]
		out = append(out, Block{Type: a.pieceType(r, rows), Lines: slices.Concat(rows...)})
		start = k
	}
	return out
}

// pieceType types a run of rows of a text region.
func (a *analysis) pieceType(r *region, rows [][]int) BlockType {
	first := strings.TrimSpace(a.rowText(rows[0]))
	switch {
	case reCaption.MatchString(first):
		return Caption
	case len(rows) == 1 && reHeading.MatchString(first) && a.rowRect(rows[0]).w() < 0.7*r.w() && len(first) <= 80:
		return Heading
	case reBullet.MatchString(first):
		return List
	}
	return Paragraph
}

// breaksBefore reports whether row k of a text region starts a new block:
// after a wider gap than the region's line spacing, at a first-line indent,
// after a short line in justified text, or at a caption, heading or list.
// Indents and short lines are measured against the neighbouring rows, not
// the region's bounds, so a column that narrows beside a picture still
// splits into its paragraphs.
func (a *analysis) breaksBefore(r *region, k int) bool {
	rr := make([]rect, len(r.rows))
	for j, row := range r.rows {
		rr[j] = a.rowRect(row)
	}
	prev, cur := rr[k-1], rr[k]
	h := r.h
	gaps := make([]float64, 0, len(rr))
	flush := 0
	for j := 1; j < len(rr); j++ {
		gaps = append(gaps, rr[j].y0-rr[j-1].y1)
		if d := rr[j].x1 - rr[j-1].x1; d < 0.3*h && d > -0.3*h {
			flush++
		}
	}
	if cur.y0-prev.y1 > median(gaps)+0.6*h {
		return true
	}
	text := strings.TrimSpace(a.rowText(r.rows[k]))
	prevText := strings.TrimSpace(a.rowText(r.rows[k-1]))
	if reCaption.MatchString(text) || reHeading.MatchString(text) && cur.w() < 0.7*r.w() ||
		reHeading.MatchString(prevText) && prev.w() < 0.7*r.w() && k == 1 {
		return true
	}
	bullet, prevBullet := reBullet.MatchString(text), reBullet.MatchString(prevText)
	if bullet && !prevBullet {
		return true
	}
	if bullet {
		return false
	}
	indented := cur.x0 >= prev.x0+0.8*h && (k+1 == len(rr) || cur.x0 >= rr[k+1].x0+0.8*h)
	if indented {
		return !a.inListItem(r, k) // a list item's wrapped line is indented too
	}
	// In justified text (most right edges flush) a line ending well short
	// of both neighbours ends a paragraph.
	if 5*flush < 3*(len(rr)-1) || prevBullet || cur.x0 > prev.x0+0.5*h {
		return false
	}
	right := cur.x1
	if k >= 2 {
		right = min(right, rr[k-2].x1)
	}
	return prev.x1 < right-2*h
}

// inListItem reports whether the last row before k that starts left of
// row k begins a list item.
func (a *analysis) inListItem(r *region, k int) bool {
	x := a.rowRect(r.rows[k]).x0
	for j := k - 1; j >= 0; j-- {
		if a.rowRect(r.rows[j]).x0 < x-0.5*r.h {
			return reBullet.MatchString(strings.TrimSpace(a.rowText(r.rows[j])))
		}
	}
	return false
}
