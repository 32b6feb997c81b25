package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/internal/pdfgen"
)

// TestInvokeProgress runs `ocrhost invoke --progress` (this binary,
// re-executed) on a 5-page PDF against a host with a batch size of 2: it
// must report the pages done after every second page and the last, then
// print every page's text in order, as request-reply would.
func TestInvokeProgress(t *testing.T) {
	th := startServe(t, map[string]string{"OCRHOST_MAX_BATCH_SIZE": "2"})
	words := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	texts := make([]string, len(words))
	for i, w := range words {
		texts[i] = fmt.Sprintf("Page %d %s", i+1, w)
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdfgen.Lines(texts), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "OCRHOST_TEST_RUN_MAIN=1",
		"OCRHOST_TEST_ARGS=invoke --progress --timeout 2m --nats "+th.natsURL+" "+path)
	if err := cmd.Run(); err != nil {
		t.Fatalf("invoke: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var want strings.Builder
	for i, text := range texts {
		fmt.Fprintf(&want, "-- page %d\n%s\n", i+1, text)
	}
	if stdout.String() != want.String() {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want.String())
	}
	wantProgress := fmt.Sprintf("%[1]s: 2/5 pages\n%[1]s: 4/5 pages\n%[1]s: 5/5 pages\n", path)
	if stderr.String() != wantProgress {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), wantProgress)
	}
}
