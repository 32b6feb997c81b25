package format_test

import (
	"encoding/csv"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// tesseractHeader is the header row Tesseract writes, read from Tesseract
// itself when it is installed.
func tesseractHeader(t *testing.T) []string {
	t.Helper()
	tess := tool(t, "tesseract")
	img := filepath.Join(testenv.RepoRoot(t), "testdata", "sample", "phototest.tif")
	out := run(t, tess, img, "-", "--psm", "3", "tsv")
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.Split(first, "\t")
}

// TestTSVReadsAsTesseracts reads our TSV the way scripts read Tesseract's
// (tab-separated, no quoting, the header naming the columns): the header is
// the one Tesseract writes, every row has its 12 columns, numbers parse,
// levels nest (page, block, paragraph, line, word, each numbered within its
// parent), word confidences lie in 0-100, boxes on the page, and the words
// are our text's, two pages numbered 1 and 2.
func TestTSVReadsAsTesseracts(t *testing.T) {
	header := tesseractHeader(t)
	s := readSample(t)
	pages := twoPages(s)
	r := csv.NewReader(strings.NewReader(string(render(t, format.TSV, pages...))))
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = '\t', true, len(header)
	got, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\t") != strings.Join(header, "\t") {
		t.Fatalf("header %q, Tesseract writes %q", got, header)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	var words []string
	pageRows := map[int]int{}
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		num := func(name string) int {
			v, err := strconv.Atoi(row[col[name]])
			if err != nil {
				t.Fatalf("%s %q: %v", name, row[col[name]], err)
			}
			return v
		}
		level, page := num("level"), num("page_num")
		ids := []int{num("block_num"), num("par_num"), num("line_num"), num("word_num")}
		for k, id := range ids {
			if (k+2 <= level) != (id > 0) {
				t.Errorf("level %d row with %v numbers: %q", level, ids, row)
			}
		}
		left, top, w, h := num("left"), num("top"), num("width"), num("height")
		if left < 0 || top < 0 || w <= 0 || h <= 0 || left+w > s.page.Width || top+h > s.page.Height {
			t.Errorf("box %d,%d %dx%d off the %dx%d page", left, top, w, h, s.page.Width, s.page.Height)
		}
		conf, err := strconv.ParseFloat(row[col["conf"]], 64)
		if err != nil {
			t.Fatal(err)
		}
		if level == 1 {
			pageRows[page]++
		}
		if level == 5 {
			if conf < 0 || conf > 100 {
				t.Errorf("word conf %v", conf)
			}
			words = append(words, row[col["text"]])
		} else if conf != -1 || row[col["text"]] != "" {
			t.Errorf("level %d row with conf %v text %q", level, conf, row[col["text"]])
		}
	}
	if pageRows[1] != 1 || pageRows[2] != 1 {
		t.Errorf("page rows %v", pageRows)
	}
	if want := wordsOf(pages...); strings.Join(words, " ") != strings.Join(want, " ") {
		t.Errorf("words\n%q\nwant\n%q", words, want)
	}
}

// TestTextAndMarkdown checks text pages are separated by form feeds and
// Markdown pages follow each other as given.
func TestTextAndMarkdown(t *testing.T) {
	s := readSample(t)
	if got := string(render(t, format.Text, twoPages(s)...)); got != s.page.Text+"\f"+s.page.Text {
		t.Errorf("text:\n%q", got)
	}
	md := string(render(t, format.Markdown, twoPages(s)...))
	if md != s.page.Markdown+s.page.Markdown || s.page.Markdown == "" {
		t.Errorf("markdown:\n%s", md)
	}
}
