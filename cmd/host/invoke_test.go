package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pagesPDF writes a PDF of one A5 page per text, each in 28 pt Helvetica.
func pagesPDF(texts []string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	n := 3 + 2*len(texts)
	off := make([]int, n+1)
	obj := func(num int, body string) {
		off[num] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", num, body)
	}
	kids := make([]string, len(texts))
	for i := range texts {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(texts)))
	obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, t := range texts {
		content := fmt.Sprintf("BT /F1 28 Tf 50 480 Td (%s) Tj ET", t)
		obj(4+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595] /Contents %d 0 R /Resources << /Font << /F1 3 0 R >> >> >>", 5+2*i))
		obj(5+2*i, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", n+1)
	for _, o := range off[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", n+1, xref)
	return b.Bytes()
}

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
	if err := os.WriteFile(path, pagesPDF(texts), 0o600); err != nil {
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
