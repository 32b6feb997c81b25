package host

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// formatHost reads PDFs at 72 dpi, the engine's compiled code cached
// beside the user's as docHost does.
func formatHost(t *testing.T, opts ...Option) *Host {
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "ocrhost", "wazero")
	}
	return newHost(t, append([]Option{WithDocuments(72, 0, 0, cache)}, opts...)...)
}

// TestFormatsOfADocument asks for a three-page PDF's result as a
// searchable PDF and as ALTO, and reads both with real consumers: poppler
// finds three pages whose text is each page's, and xmllint validates the
// ALTO against its schema with a Page per page.
func TestFormatsOfADocument(t *testing.T) {
	testenv.Models(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skipf("pdftotext not installed (Debian poppler-utils, see .ci/run): %v", err)
	}
	h := formatHost(t)
	texts := pageTexts(3)
	resp, err := h.Invoke(context.Background(), &Request{ID: "doc", Data: textPDF(texts), Options: []byte(`{"format":"pdf"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputType != "application/pdf" || !strings.HasPrefix(string(resp.Output), "%PDF-") {
		t.Fatalf("output %q, %d bytes starting %q", resp.OutputType, len(resp.Output), resp.Output[:min(8, len(resp.Output))])
	}
	path := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(path, resp.Output, 0o644); err != nil {
		t.Fatal(err)
	}
	pageText := strings.Split(resp.Text, "\f")
	for i, want := range texts {
		n := strconv.Itoa(i + 1)
		out, err := exec.Command(pdftotext, "-f", n, "-l", n, path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		if cer := textmetric.CER(string(out), pageText[i]); cer > 0.01 || textmetric.CER(string(out), want) > 0.1 {
			t.Errorf("page %s: pdftotext %q, page text %q (CER %.3f), drawn %q", n, out, pageText[i], cer, want)
		}
	}
	if out, err := exec.Command(pdftotext, "-f", "4", "-l", "4", path, "-").CombinedOutput(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("a fourth page: %q", out)
	}

	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skipf("xmllint not installed (Debian libxml2-utils, see .ci/run): %v", err)
	}
	xsd := testenv.Shared(t, "testdata/formats/alto-4-4.xsd")
	resp, err = h.Invoke(context.Background(), &Request{ID: "doc", Data: textPDF(texts), Options: []byte(`{"format":"alto"}`)})
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "out.alto.xml")
	if err := os.WriteFile(path, resp.Output, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, path).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	if n := strings.Count(string(resp.Output), "<Page "); n != 3 {
		t.Errorf("%d ALTO pages, want 3", n)
	}
}

// TestFormatChoice: the options' format wins over the client's preferred
// media type, which wins over the deployment's format; JSON leaves the
// response as it is; a bad format is invalid input. (Detection alone
// of a bar gives the result: the choice is what is tested.)
func TestFormatChoice(t *testing.T) {
	testenv.Models(t)
	h := newHost(t, WithFormat(format.HOCR))
	img := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := 80; y < 100; y++ {
		for x := 40; x < 200; x++ {
			img.SetGray(x, y, color.Gray{0})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	for _, c := range []struct {
		options, accept, want string
	}{
		{`{"stages":["det"]}`, ``, "application/xhtml+xml"},
		{`{"stages":["det"]}`, `text/tab-separated-values`, "text/tab-separated-values; charset=utf-8"},
		{`{"stages":["det"],"format":"text"}`, `text/tab-separated-values`, "text/plain; charset=utf-8"},
		{`{"format":"json","stages":["det"]}`, `application/pdf`, ""},
		{`{"stages":["det"]}`, `application/json`, ""},
		{`{"stages":["det"]}`, `text/html`, "application/xhtml+xml"},
	} {
		resp, err := h.Invoke(context.Background(), &Request{Data: data, Options: []byte(c.options), Accept: c.accept})
		if err != nil {
			t.Fatalf("options %s accept %q: %v", c.options, c.accept, err)
		}
		if resp.OutputType != c.want {
			t.Errorf("options %s accept %q: output %q, want %q", c.options, c.accept, resp.OutputType, c.want)
		}
		if c.want == "" && resp.Output != nil {
			t.Errorf("json: output of %d bytes", len(resp.Output))
		}
	}
	for _, bad := range []string{`{"format":"docx"}`, `{"format":3}`} {
		_, err := h.Invoke(context.Background(), &Request{Data: data, Options: []byte(bad)})
		var f *Failure
		if !errors.As(err, &f) || f.Code != CodeInvalidInput {
			t.Errorf("options %s: %v, want invalid_input", bad, err)
		}
	}
}
