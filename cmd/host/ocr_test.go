package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/internal/testenv"
)

// runOCR runs `ocrhost ocr ARGS` (this binary, re-executed).
func runOCR(t *testing.T, args string) (string, string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "OCRHOST_TEST_RUN_MAIN=1", "OCRHOST_TEST_ARGS=ocr "+args)
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// `ocrhost ocr --format markdown` prints the Markdown, a table as a GFM
// table with its 16 rows; an unknown format is refused.
func TestOCRFormatMarkdown(t *testing.T) {
	testenv.Models(t)
	img := filepath.Join(testenv.Shared(t, "testdata/documents"), "rapidtable_table.jpg")
	out, stderr, err := runOCR(t, "--format markdown "+img)
	if err != nil {
		t.Fatalf("ocr: %v\n%s", err, stderr)
	}
	rows := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "|") && !strings.HasPrefix(l, "| ---") {
			rows++
		}
	}
	if !strings.HasPrefix(out, "| Methods | R | P | F | FPS |\n| --- | --- | --- | --- | --- |\n") || rows != 16 {
		t.Errorf("%d table rows, want 16:\n%s", rows, out)
	}
	if _, stderr, err := runOCR(t, "--format xml "+img); err == nil || !strings.Contains(stderr, `--format "xml"`) {
		t.Errorf("--format xml: %v, %s", err, stderr)
	}
}
