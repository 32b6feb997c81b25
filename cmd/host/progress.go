package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progressBar draws "name [#####     ] 5/10 pages" on a terminal, and
// nothing when the output is not one (a pipe or a file).
type progressBar struct {
	w     io.Writer
	name  string
	shown bool
}

func newProgressBar(w io.Writer, name string) *progressBar {
	if f, ok := w.(*os.File); !ok || !isTerminal(f) {
		return &progressBar{}
	}
	return &progressBar{w: w, name: name}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (b *progressBar) update(done, total int) {
	if b.w == nil || total <= 1 {
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
