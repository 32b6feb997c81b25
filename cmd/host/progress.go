package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// progressBar draws "name [#####     ] 5/10 pages" on a terminal, and
// nothing when the output is not one (a pipe or a file), unless made with
// newProgressLines.
type progressBar struct {
	w     io.Writer
	name  string
	lines bool // a line per update, for output that is not a terminal
	shown bool
}

func newProgressBar(w io.Writer, name string) *progressBar {
	if f, ok := w.(*os.File); !ok || !isTerminal(f) {
		return &progressBar{}
	}
	return &progressBar{w: w, name: name}
}

// newProgressLines reports to w whatever it is: the bar on a terminal,
// else "name: 5/10 pages" lines that a log or a pipe can take.
func newProgressLines(w io.Writer, name string) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, name: name, lines: !ok || !isTerminal(f)}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func (b *progressBar) update(done, total int) {
	if b.w == nil || total <= 1 {
		return
	}
	if b.lines {
		fmt.Fprintf(b.w, "%s: %d/%d pages\n", b.name, done, total)
		return
	}
	const width = 30
	n := width * done / total
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d pages", b.name, strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total)
	b.shown = true
}

func (b *progressBar) done() {
	if b.shown {
		fmt.Fprintln(b.w)
	}
}
