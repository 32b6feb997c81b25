package table

import (
	"fmt"
	"html"
	"strings"
)

// Grid is the table as rows of cell texts, a spanned cell's text at its
// top-left position and the positions it covers empty.
func (t Table) Grid() [][]string {
	g := make([][]string, t.Rows)
	for r := range g {
		g[r] = make([]string, t.Cols)
	}
	for _, c := range t.Cells {
		if c.Row < t.Rows && c.Col < t.Cols {
			g[c.Row][c.Col] = c.Text
		}
	}
	return g
}

// HTML writes the table as an HTML table, a spanned cell once with its
// rowspan and colspan.
func (t Table) HTML() string {
	var b strings.Builder
	b.WriteString("<table>")
	k := 0
	for r := range t.Rows {
		b.WriteString("<tr>")
		for ; k < len(t.Cells) && t.Cells[k].Row == r; k++ {
			c := t.Cells[k]
			b.WriteString("<td")
			if c.RowSpan > 1 {
				fmt.Fprintf(&b, ` rowspan="%d"`, c.RowSpan)
			}
			if c.ColSpan > 1 {
				fmt.Fprintf(&b, ` colspan="%d"`, c.ColSpan)
			}
			b.WriteString(">" + html.EscapeString(c.Text) + "</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return b.String()
}

var cellEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, "\n", " ")

// Markdown writes the table as a GitHub-flavoured Markdown table, its first
// row the head; a spanned cell's text is written once, at its top-left
// position, and the positions it covers are left empty.
func (t Table) Markdown() string {
	if t.Rows == 0 || t.Cols == 0 {
		return ""
	}
	var b strings.Builder
	for r, row := range t.Grid() {
		b.WriteByte('|')
		for _, s := range row {
			b.WriteString(" " + cellEscaper.Replace(s) + " |")
		}
		b.WriteByte('\n')
		if r == 0 {
			b.WriteString(strings.Repeat("| --- ", t.Cols) + "|\n")
		}
	}
	return b.String()
}
