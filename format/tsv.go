package format

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// tsvHeader is the header row Tesseract writes (tesseract IMAGE out tsv).
const tsvHeader = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"

// tsvWriter writes Tesseract's TSV: a row per page (level 1), block (2),
// paragraph (3), line (4) and word (5), with the numbers of the parts
// that hold it, its box, and for words a confidence in 0-100 and the text;
// other levels have conf -1 and no text, as Tesseract writes them. A
// layout block holds one paragraph.
type tsvWriter struct {
	w     *bufio.Writer
	pages int
}

func newTSV(w io.Writer) *tsvWriter {
	t := &tsvWriter{w: bufio.NewWriter(w)}
	t.w.WriteString(tsvHeader)
	return t
}

// tsvText keeps a word on its row: tabs and line breaks become spaces.
var tsvText = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

func (t *tsvWriter) WritePage(p Page) error {
	t.pages++
	n := p.Number
	if n == 0 {
		n = t.pages
	}
	row := func(level, block, par, line, word int, r rect, conf string, text string) {
		fmt.Fprintf(t.w, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", level, n, block, par, line, word, r.x0, r.y0, r.w(), r.h(), conf, text)
	}
	row(1, 0, 0, 0, 0, rect{0, 0, p.Width, p.Height}, "-1", "")
	for bi, b := range blocks(p) {
		row(2, bi+1, 0, 0, 0, b.box, "-1", "")
		row(3, bi+1, 1, 0, 0, b.box, "-1", "")
		for k, li := range b.lines {
			l := p.Lines[li]
			row(4, bi+1, 1, k+1, 0, bounds(l.Box, p), "-1", "")
			for wi, wd := range words(l) {
				row(5, bi+1, 1, k+1, wi+1, bounds(wd.Box, p), fmt.Sprintf("%.6f", wd.Confidence*100), tsvText.Replace(wd.Text))
			}
		}
	}
	return t.w.Flush()
}

func (t *tsvWriter) Close() error { return t.w.Flush() }
