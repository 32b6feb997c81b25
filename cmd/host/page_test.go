package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/image/tiff"

	"github.com/ocrhost/ocrhost/internal/testenv"
)

// TestPageInBrowser opens GET / of a served host in headless Chromium,
// uploads the sample page and waits for its text and for the line boxes
// drawn over it, as a user would.
func TestPageInBrowser(t *testing.T) {
	testenv.Models(t)
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium to test the page in (Debian package chromium)")
	}
	img, err := tiff.Decode(bytes.NewReader(sampleDoc(t)))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "phototest.png")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()

	p := spawnServe(t, map[string]string{"OCRHOST_EMBEDDED_NATS_PORT": "-1"})
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Flag("headless", "new"))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	fail := func(what string, err error) {
		t.Helper()
		t.Fatalf("browser, %s: %v\nhost log:\n%s", what, err, p.logs)
	}
	if _, err := chromedp.Run(ctx, chromedp.Steps(chromedp.Navigate(p.httpURL+"/"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.WaitVisible(chromedp.CSS("#downloads")))); err != nil {
		fail("upload", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`))
	if err != nil {
		fail("title", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#text")))
	if err != nil {
		fail("text", err)
	}
	boxes, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("canvas").dataset.boxes`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		fail("boxes", err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("canvas").width`))
	if err != nil {
		fail("canvas", err)
	}
	if title != "ocrhost" || !strings.Contains(text, sampleWords) {
		t.Errorf("title %q, text %q; want the sample's words %q", title, text, sampleWords)
	}
	if n, err := strconv.Atoi(boxes); err != nil || n < 5 || width != img.Bounds().Dx() {
		t.Errorf("%s boxes drawn on a canvas %d px wide; want the sample's lines over its %d px image", boxes, width, img.Bounds().Dx())
	}
}
