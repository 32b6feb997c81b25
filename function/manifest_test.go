package function_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// manifestRow is one line of ../shared/testdata/external/manifest.tsv.
type manifestRow struct {
	file, expected, notes string
}

func readManifest(t testing.TB) (dir string, rows []manifestRow) {
	dir = testenv.Shared(t, "testdata/external")
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 6 {
			continue
		}
		rows = append(rows, manifestRow{file: cols[0], expected: cols[4], notes: cols[5]})
	}
	return dir, rows
}

// expectation is what a manifest row's "expected" column asserts. The
// column is prose written for people; the clauses below are the forms it
// uses, so a new row in one of those forms is a new test case.
type expectation struct {
	detBoxes    int    // "det-only: N boxes"
	results     int    // "N results" / "and N results" / "1 result"
	firstText   string // "first text "X"", "det+rec first text "X"", "1 result "X"", "first result (...) "X""
	foldCase    bool   // "(case-insensitive)"
	clsLabel180 bool   // "cls label "180""
	wholeText   string // a plain expected text, or "cls+rec text "X""
	gtFile      string // "see F.gt.txt", "same as F.gt.txt", "true text: F", "all: F"
	gtText      string // a plain text the notes call "Not asserted upstream": ground truth, not a RapidOCR output
	noText      bool   // "no text"
	recOnly     bool   // notes say "Recognition only" or "(no det)"
	noCls       bool   // "use_cls=False"
}

var (
	reQuoted   = regexp.MustCompile(`"([^"]*)"`)
	reDetBoxes = regexp.MustCompile(`det-only: (\d+) boxes`)
	reResults  = regexp.MustCompile(`(?:^|and |; )(\d+) results?\b`)
	reGT       = regexp.MustCompile(`([A-Za-z0-9_.\-]+\.gt\.txt)`)
)

func parseExpectation(r manifestRow) expectation {
	e := expectation{detBoxes: -1, results: -1}
	e.recOnly = strings.Contains(r.notes, "Recognition only") || strings.Contains(r.notes, "(no det)")
	e.noCls = strings.Contains(r.expected, "use_cls=False")
	if m := reGT.FindStringSubmatch(r.expected); m != nil {
		e.gtFile = m[1]
	}
	structured := false
	for _, clause := range strings.Split(r.expected, ";") {
		clause = strings.TrimSpace(clause)
		q := reQuoted.FindStringSubmatch(clause)
		switch {
		case reDetBoxes.MatchString(clause):
			e.detBoxes, _ = strconv.Atoi(reDetBoxes.FindStringSubmatch(clause)[1])
			structured = true
		case strings.HasPrefix(clause, "cls label"):
			e.clsLabel180 = q != nil && q[1] == "180"
			structured = true
		case strings.HasPrefix(clause, "cls+rec text") && q != nil:
			e.wholeText = q[1]
			structured = true
		case strings.Contains(clause, "first text") || strings.HasPrefix(clause, "first result") ||
			(reResults.MatchString(clause) && q != nil):
			if q != nil {
				e.firstText = q[1]
			}
			e.foldCase = strings.Contains(clause, "case-insensitive")
			structured = true
		case strings.HasPrefix(clause, "no text"):
			e.noText = true
			structured = true
		}
		if m := reResults.FindStringSubmatch(clause); m != nil && !strings.HasPrefix(clause, "det-only") {
			e.results, _ = strconv.Atoi(m[1])
		}
		if strings.HasPrefix(clause, "see ") || strings.HasPrefix(clause, "same as ") ||
			strings.HasPrefix(clause, "true text:") || strings.HasPrefix(clause, "all:") {
			structured = true
		}
	}
	if !structured && e.gtFile == "" {
		if strings.Contains(r.notes, "Not asserted upstream") {
			e.gtText = strings.TrimSpace(r.expected)
		} else {
			e.wholeText = strings.TrimSpace(r.expected)
		}
	}
	return e
}

// gtCER bounds the character error rate against a ground-truth file, in
// reading order. Set from measurements (README "Accuracy") with headroom;
// the rows' notes explain each non-zero floor.
const gtCER = 0.15

// gtBagF1 is the floor for rows whose ground truth is not in reading order.
const gtBagF1 = 0.9

// orderFree lists rows whose ground-truth line order is another tool's
// output order rather than the order a person reads, with the reason.
var orderFree = map[string]string{
	"easyocr_chinese.jpg":              "the ground truth is EasyOCR's output order; the sign reads as three columns (西 315 W | 愚园路 Yuyuan Rd. | 东 309 E)",
	"rapidocr_text_vertical_words.png": "the ground truth lists the columns left to right as RapidOCR outputs them; vertical Chinese reads right to left",
}

func TestManifest(t *testing.T) {
	dir, rows := readManifest(t)
	models := testenv.LoadAll(t)
	for _, r := range rows {
		e := parseExpectation(r)
		t.Run(r.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, r.file))
			if err != nil {
				t.Fatal(err)
			}
			img, _, err := imageio.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			run := func(o function.Options) *function.Result {
				t.Helper()
				res, err := function.Run(context.Background(), models, img, o)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			// Upstream assertions are RapidOCR's outputs: check them with its
			// configuration and output order (parity); ground truth is checked
			// with the default configuration in reading order below.
			base := function.PresetOptions(function.PresetRapidOCR)
			base.Order = function.OrderRapidOCR
			if e.recOnly || e.clsLabel180 {
				base.Stages.Detect = false
			}
			if e.noCls || e.recOnly && !e.clsLabel180 {
				base.Stages.Classify = false
			}
			if e.detBoxes >= 0 {
				o := base
				o.Stages = function.Stages{Detect: true}
				if got := len(run(o).Lines); got != e.detBoxes {
					t.Errorf("det-only: %d boxes, want %d", got, e.detBoxes)
				}
			}
			res := run(base)
			texts := make([]string, len(res.Lines))
			for i, l := range res.Lines {
				texts[i] = l.Text
			}
			t.Logf("%d lines: %q", len(texts), texts)
			if e.results >= 0 && len(res.Lines) != e.results {
				t.Errorf("%d results, want %d", len(res.Lines), e.results)
			}
			if e.noText && len(res.Lines) != 0 {
				t.Errorf("want no text, got %q", texts)
			}
			if e.firstText != "" {
				if len(texts) == 0 {
					t.Fatalf("no text, want first %q", e.firstText)
				}
				got, want := texts[0], e.firstText
				if e.foldCase {
					got, want = strings.ToLower(got), strings.ToLower(want)
				}
				if got != want {
					t.Errorf("first text %q, want %q", texts[0], e.firstText)
				}
			}
			if e.clsLabel180 && (len(res.Lines) != 1 || !res.Lines[0].Rotated) {
				t.Errorf("want the classifier to turn the crop 180°, lines %+v", res.Lines)
			}
			if e.wholeText != "" {
				if got := strings.Join(texts, ""); got != e.wholeText {
					t.Errorf("text %q, want %q (CER %.3f)", got, e.wholeText, textmetric.CER(got, e.wholeText))
				}
			}
			if e.gtFile != "" || e.gtText != "" {
				gt, source := []byte(e.gtText), "the manifest's text"
				if e.gtFile != "" {
					if gt, err = os.ReadFile(filepath.Join(dir, e.gtFile)); err != nil {
						t.Fatal(err)
					}
					source = e.gtFile
				}
				// Ground truth is compared in the order a person reads.
				o := function.DefaultOptions()
				o.Stages = base.Stages
				o.Stages.Classify = !e.noCls
				got := run(o).Text()
				cer, f1 := textmetric.CER(got, string(gt)), textmetric.BagF1(got, string(gt))
				t.Logf("CER %.4f, bag F1 %.4f against %s", cer, f1, source)
				if why, ok := orderFree[r.file]; ok || strings.Contains(r.notes, "order-insensitively") {
					t.Logf("compared order-insensitively: %s", why)
					if f1 < gtBagF1 {
						t.Errorf("bag F1 %.4f < %.2f against %s; got:\n%s", f1, gtBagF1, source, got)
					}
				} else if cer > gtCER {
					t.Errorf("CER %.4f > %.2f against %s; got:\n%s", cer, gtCER, source, got)
				}
			}
		})
	}
}

func TestParseExpectation(t *testing.T) {
	e := parseExpectation(manifestRow{expected: `det-only: 18 boxes; det+rec first text "正品促销" and 18 results; true text: a.gt.txt`})
	if e.detBoxes != 18 || e.results != 18 || e.firstText != "正品促销" || e.gtFile != "a.gt.txt" {
		t.Errorf("%+v", e)
	}
	e = parseExpectation(manifestRow{expected: `PAIN`, notes: "Recognition only, 73x28."})
	if e.wholeText != "PAIN" || !e.recOnly {
		t.Errorf("%+v", e)
	}
	e = parseExpectation(manifestRow{expected: `1 result "在中国"`})
	if e.results != 1 || e.firstText != "在中国" {
		t.Errorf("%+v", e)
	}
	e = parseExpectation(manifestRow{expected: `cls label "180"; cls+rec text "怪我咯"`, notes: "Upside-down crop 136x48 (no det)."})
	if !e.clsLabel180 || e.wholeText != "怪我咯" || !e.recOnly {
		t.Errorf("%+v", e)
	}
	e = parseExpectation(manifestRow{expected: `中国`, notes: "Tiny. Not asserted upstream; GT transcribed here."})
	if e.gtText != "中国" || e.wholeText != "" {
		t.Errorf("%+v", e)
	}
	e = parseExpectation(manifestRow{expected: `no text (no boxes)`})
	if !e.noText || e.wholeText != "" {
		t.Errorf("%+v", e)
	}
}
