package function

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ocrhost/ocrhost/function/layout"
)

// Text is the result as plain text in reading order: a line per line, a
// blank line between blocks, a table read into a grid a row per line with
// its cells separated by tabs. Text inside pictures is left out unless the
// figure_text option asked for it.
func (r *Result) Text() string {
	var b strings.Builder
	if len(r.Blocks) == 0 {
		for i, l := range r.Lines {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(l.Text)
		}
		return b.String()
	}
	for _, blk := range r.textBlocks() {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		if tb := r.tableOf(blk); tb != nil {
			b.WriteString(tb.text())
			continue
		}
		for k, i := range blk.Lines {
			if k > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(r.Lines[i].Text)
		}
	}
	return b.String()
}

// tableOf is the grid read from a table block, nil for other blocks.
func (r *Result) tableOf(blk Block) *Table {
	if blk.Table == nil || *blk.Table < 0 || *blk.Table >= len(r.Tables) {
		return nil
	}
	return &r.Tables[*blk.Table]
}

// text writes the table a row per line, its cells separated by tabs, a
// spanned cell's text once at its top-left position.
func (t *Table) text() string {
	grid := make([][]string, t.Rows)
	for k := range grid {
		grid[k] = make([]string, t.Cols)
	}
	for _, c := range t.Cells {
		if c.Row < t.Rows && c.Col < t.Cols {
			grid[c.Row][c.Col] = c.Text
		}
	}
	rows := make([]string, len(grid))
	for k, row := range grid {
		rows[k] = strings.TrimRight(strings.Join(row, "\t"), "\t")
	}
	return strings.Join(rows, "\n")
}

// textBlocks are the blocks Text and Markdown write.
func (r *Result) textBlocks() []Block {
	out := make([]Block, 0, len(r.Blocks))
	for _, blk := range r.Blocks {
		if blk.Type != string(layout.Figure) || r.figureText {
			out = append(out, blk)
		}
	}
	return out
}

// Markdown is the result as Markdown built from its blocks: the title and
// headings as headings (the title "#", headings "##"), paragraphs and
// captions joined into running text with hyphenated line ends rejoined,
// list items as items, a table as a GFM table where its grid was read (its
// lines one per line otherwise). Running headers,
// footers and page numbers are left out: they are not the document's text.
func (r *Result) Markdown() string {
	if len(r.Blocks) == 0 {
		var b strings.Builder
		for _, l := range r.Lines {
			b.WriteString(escapeMarkdown(l.Text))
			b.WriteString("  \n")
		}
		return b.String()
	}
	var b strings.Builder
	for _, blk := range r.textBlocks() {
		lines := make([]string, len(blk.Lines))
		for k, i := range blk.Lines {
			lines[k] = r.Lines[i].Text
		}
		if tb := r.tableOf(blk); tb != nil {
			b.WriteString(strings.TrimSuffix(tb.Markdown, "\n") + "\n\n")
			continue
		}
		switch layout.BlockType(blk.Type) {
		case layout.Header, layout.Footer, layout.PageNumber:
			continue
		case layout.Title:
			b.WriteString("# " + escapeInline(joinLines(lines)))
		case layout.Heading:
			b.WriteString("## " + escapeInline(joinLines(lines)))
		case layout.Caption:
			b.WriteString("*" + escapeInline(joinLines(lines)) + "*")
		case layout.List:
			b.WriteString(listItems(lines))
		case layout.Table, layout.Figure:
			for k, l := range lines {
				if k > 0 {
					b.WriteString("  \n")
				}
				b.WriteString(escapeMarkdown(l))
			}
		default:
			b.WriteString(escapeMarkdown(joinLines(lines)))
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

// joinLines joins a block's lines into running text. A line ending in a
// hyphen after a letter, followed by a line starting in lower case, is a
// word broken across lines, and is joined without the hyphen.
func joinLines(lines []string) string {
	var b strings.Builder
	for k, l := range lines {
		l = strings.TrimSpace(l)
		if k > 0 {
			prev := b.String()
			first, _ := utf8.DecodeRuneInString(l)
			if brokenWord(prev) && unicode.IsLower(first) {
				b.Reset()
				b.WriteString(strings.TrimSuffix(prev, "-"))
			} else if prev != "" {
				b.WriteByte(' ')
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

func brokenWord(s string) bool {
	if !strings.HasSuffix(s, "-") || len(s) < 2 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:len(s)-1])
	return unicode.IsLetter(r)
}

// listItems writes each item of a list block as a Markdown item: a line
// starting with a bullet or number starts an item, other lines continue it.
func listItems(lines []string) string {
	var items [][]string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if loc := layout.BulletPrefix(l); loc > 0 || len(items) == 0 {
			items = append(items, []string{strings.TrimSpace(l[loc:])})
			continue
		}
		items[len(items)-1] = append(items[len(items)-1], l)
	}
	var b strings.Builder
	for k, it := range items {
		if k > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("- " + escapeInline(joinLines(it)))
	}
	return b.String()
}

var inlineEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, "|", `\|`)

func escapeInline(s string) string { return inlineEscaper.Replace(s) }

// escapeMarkdown escapes inline markup and a leading character that would
// start a heading, quote, list or numbered list.
func escapeMarkdown(s string) string {
	s = escapeInline(s)
	t := strings.TrimLeft(s, " ")
	if t == "" {
		return s
	}
	switch t[0] {
	case '#', '>', '-', '+', '=':
		return `\` + t
	}
	if i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' }); i > 0 && (t[i] == '.' || t[i] == ')') {
		return t[:i] + `\` + t[i:]
	}
	return t
}

// DocumentText joins a document's pages as one result gives them: the text
// with a form feed between pages, and, when asked for, the Markdown with a
// comment naming each page before it.
type DocumentText struct {
	markdown bool
	pages    int
	text, md strings.Builder
}

// NewDocumentText starts a document's text; markdown says whether its
// Markdown is wanted too.
func NewDocumentText(markdown bool) *DocumentText { return &DocumentText{markdown: markdown} }

// Add appends page number n's result and returns that page's text and
// Markdown ("" when not wanted).
func (d *DocumentText) Add(n int, r *Result) (text, md string) {
	if d.pages++; d.pages > 1 {
		d.text.WriteString("\f")
	}
	text = r.Text()
	d.text.WriteString(text)
	if d.markdown {
		md = fmt.Sprintf("<!-- page %d -->\n\n", n) + r.Markdown()
		d.md.WriteString(md)
	}
	return text, md
}

// Text is the document's text so far.
func (d *DocumentText) Text() string { return d.text.String() }

// Markdown is the document's Markdown so far ("" when not wanted).
func (d *DocumentText) Markdown() string { return d.md.String() }
