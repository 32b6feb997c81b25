package format_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
)

// samplePage is a real result: testdata/sample/phototest.tif read by the
// real pipeline, once for the package's tests.
type samplePage struct {
	page format.Page
	res  *function.Result
	img  []byte
}

var (
	sampleMu sync.Mutex
	sample   *samplePage
)

func readSample(t *testing.T) *samplePage {
	t.Helper()
	sampleMu.Lock()
	defer sampleMu.Unlock()
	if sample != nil {
		return sample
	}
	models := testenv.LoadAll(t)
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "sample", "phototest.tif"))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageio.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := function.Run(context.Background(), models, img, function.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Lines) < 5 || len(res.Blocks) == 0 {
		t.Fatalf("sample read as %d lines, %d blocks", len(res.Lines), len(res.Blocks))
	}
	sample = &samplePage{page: format.FromResult(res, true), res: res, img: data}
	return sample
}

// render writes pages in f.
func render(t *testing.T, f format.Format, pages ...format.Page) []byte {
	t.Helper()
	var b strings.Builder
	w, err := format.NewWriter(&b, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if err := w.WritePage(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

// tool finds a command the test reads our output with, or skips: .ci/run
// installs them all, so only a machine without them skips.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian: see .ci/run): %v", name, err)
	}
	return p
}

// run runs a command and returns its standard output, failing the test
// with its standard error.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wordsOf is every word of the pages in order, as the writers see them.
func wordsOf(pages ...format.Page) []string {
	var out []string
	for _, p := range pages {
		for _, l := range p.Lines {
			out = append(out, strings.Fields(l.Text)...)
		}
	}
	return out
}
