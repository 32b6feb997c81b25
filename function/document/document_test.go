package document

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/function/imgproc"
)

// testDPI keeps renders small; the bar measurement works at any DPI.
const testDPI = 72

var shared struct {
	once sync.Once
	r    *Renderer
	err  error
}

// cacheDir is a compilation cache that outlives the test run: compiling
// PDFium takes over a minute under -race on a busy machine, loading the
// cached code under a second.
func cacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ocrhost", "wazero")
}

// renderer is the Renderer all tests share.
func renderer(t testing.TB) *Renderer {
	t.Helper()
	shared.once.Do(func() {
		start := time.Now()
		shared.r, shared.err = NewRenderer(context.Background(), WithCompilationCacheDir(cacheDir()))
		fmt.Fprintf(os.Stderr, "document: pdfium loaded in %v\n", time.Since(start).Round(time.Millisecond))
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.r
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.r != nil {
		if err := shared.r.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the renderer:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// barPt measures the bar hanging from the top of the page in column x (in
// points), in points.
func barPt(m *imgproc.Image, dpi int) float64 {
	x := int((barX + 36) * float64(dpi) / 72)
	y0 := int(36 * float64(dpi) / 72)
	n := 0
	for y := y0 - 2; x < m.W && y < m.H; y++ {
		if m.Pix[m.Offset(x, y)] < 128 {
			n++
		} else if n > 0 {
			break
		}
	}
	return float64(n) * 72 / float64(dpi)
}

// collect runs Pages and records every page's number and total, checking
// each page's bar against barFor.
func collect(t *testing.T, r *Renderer, data []byte, format string, o Options) (nums, totals []int, err error) {
	t.Helper()
	dpi := orDefault(o.DPI, DefaultDPI)
	err = Pages(context.Background(), r, data, format, o, func(p Page, total int) error {
		nums = append(nums, p.Number)
		if got, want := barPt(p.Image, dpi), barFor(p.Number); math.Abs(got-want) > 72.0/float64(dpi)+0.01 {
			t.Errorf("page %d: bar %.1f pt, want %.1f", p.Number, got, want)
		}
		totals = append(totals, total)
		return nil
	})
	return nums, totals, err
}

func TestPDFPages(t *testing.T) {
	r := renderer(t)
	pages := numbered(7, 200, 300)
	pages[4].w, pages[4].h = 300, 250 // landscape page 5: its own size must come through
	data := buildPDF(pages, nil, 0)

	var got []Page
	var calls int
	err := Pages(context.Background(), r, data, "pdf", Options{DPI: testDPI}, func(p Page, total int) error {
		calls++
		if total != 7 {
			t.Errorf("total %d, want 7", total)
		}
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 7 || len(got) != 7 {
		t.Fatalf("%d calls, %d pages; want 7 calls, 7 pages", calls, len(got))
	}
	for i, p := range got {
		want := pages[i]
		if p.Number != i+1 || p.WidthPt != want.w || p.HeightPt != want.h || p.Image.W != int(want.w) || p.Image.H != int(want.h) {
			t.Errorf("page %d: number %d, %gx%g pt, %dx%d px; want %gx%g", i+1, p.Number, p.WidthPt, p.HeightPt, p.Image.W, p.Image.H, want.w, want.h)
		}
		if bar := barPt(p.Image, testDPI); bar != barFor(i+1) {
			t.Errorf("page %d: bar %g pt, want %g", i+1, bar, barFor(i+1))
		}
		if len(p.Image.Pix) != 3*p.Image.W*p.Image.H {
			t.Fatalf("page %d: %d bytes for %dx%d", i+1, len(p.Image.Pix), p.Image.W, p.Image.H)
		}
	}
	// White paper, black bar, and the text drawn somewhere to the right.
	m := got[0].Image
	if px := m.Pix[m.Offset(m.W-1, m.H-1):][:3]; !bytes.Equal(px, []byte{255, 255, 255}) {
		t.Errorf("corner pixel %v, want white", px)
	}
	if !hasInk(m, int(barX+90), 0, m.W, 60) {
		t.Error("no text rendered beside the bar")
	}
}

// hasInk reports whether the rectangle holds a dark pixel.
func hasInk(m *imgproc.Image, x0, y0, x1, y1 int) bool {
	for y := y0; y < min(y1, m.H); y++ {
		for x := x0; x < min(x1, m.W); x++ {
			if m.Pix[m.Offset(x, y)] < 100 {
				return true
			}
		}
	}
	return false
}

func TestRotatedPage(t *testing.T) {
	data := buildPDF([]testPage{{w: 200, h: 300, bar: 20, rotate: 90}}, nil, 0)
	var p Page
	if err := Pages(context.Background(), renderer(t), data, "pdf", Options{DPI: testDPI}, func(page Page, _ int) error {
		p = page
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p.WidthPt != 300 || p.HeightPt != 200 || p.Image.W != 300 || p.Image.H != 200 {
		t.Fatalf("%gx%g pt, %dx%d px; want the page turned to 300x200", p.WidthPt, p.HeightPt, p.Image.W, p.Image.H)
	}
	// Turned clockwise, the bar hanging from the top-left corner lies along
	// the top-right corner: 20 pt wide, 72 pt tall, 36 pt from the top.
	m := p.Image
	if !hasInk(m, 300-36-20, 40, 300-36, 100) || hasInk(m, 0, 0, 36, 200) {
		t.Fatal("the bar is not where a 90° turn puts it")
	}
}

func TestPDFDPI(t *testing.T) {
	data := buildPDF(numbered(1, 595.28, 841.89), nil, 0) // A4
	for _, dpi := range []int{0, 100} {
		var m *imgproc.Image
		err := Pages(context.Background(), renderer(t), data, "pdf", Options{DPI: dpi}, func(p Page, _ int) error {
			m = p.Image
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		eff := orDefault(dpi, DefaultDPI)
		w, h := int(math.Ceil(595.28*float64(eff)/72)), int(math.Ceil(841.89*float64(eff)/72))
		if m.W != w || m.H != h {
			t.Errorf("dpi %d: %dx%d, want %dx%d", dpi, m.W, m.H, w, h)
		}
		if got := barPt(m, eff); math.Abs(got-barFor(1)) > 72.0/float64(eff) {
			t.Errorf("dpi %d: bar %.2f pt, want %g", dpi, got, barFor(1))
		}
	}
}

// orDefault is v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func TestPageRange(t *testing.T) {
	r := renderer(t)
	pdf := buildPDF(numbered(7, 200, 300), nil, 0)
	tif := buildTIFF(numberedTIFF(7))
	for _, doc := range []struct {
		format string
		data   []byte
	}{{"pdf", pdf}, {"tiff", tif}} {
		for _, tc := range []struct {
			first, last int
			want        []int
		}{
			{3, 5, []int{3, 4, 5}},
			{6, 0, []int{6, 7}},
			{0, 2, []int{1, 2}},
			{7, 7, []int{7}},
			{0, 0, []int{1, 2, 3, 4, 5, 6, 7}},
		} {
			nums, totals, err := collect(t, r, doc.data, doc.format, Options{DPI: testDPI, FirstPage: tc.first, LastPage: tc.last})
			if err != nil {
				t.Fatalf("%s %d-%d: %v", doc.format, tc.first, tc.last, err)
			}
			if n := len(tc.want); !slices.Equal(nums, tc.want) || slices.ContainsFunc(totals, func(v int) bool { return v != n }) {
				t.Errorf("%s %d-%d: pages %v totals %v; want %v total %d", doc.format, tc.first, tc.last, nums, totals, tc.want, n)
			}
		}
		for _, bad := range [][2]int{{5, 3}, {0, 8}, {8, 0}, {-1, 2}, {2, -1}} {
			called := false
			err := Pages(context.Background(), r, doc.data, doc.format, Options{DPI: testDPI, FirstPage: bad[0], LastPage: bad[1]}, func(Page, int) error { called = true; return nil })
			if !errors.Is(err, ErrPageRange) || called {
				t.Errorf("%s range %v: %v (fn called %v), want ErrPageRange before any page", doc.format, bad, err, called)
			}
		}
	}
}

func TestTooManyPages(t *testing.T) {
	r := renderer(t)
	ctx := context.Background()
	never := func(Page, int) error { t.Error("fn called"); return nil }

	big := buildPDF(numbered(10000, 200, 300), nil, 0)
	if n, err := PageCount(ctx, r, big, "pdf"); n != 10000 || err != nil {
		t.Fatalf("PageCount %d, %v; want 10000", n, err)
	}
	start := time.Now()
	if err := Pages(ctx, r, big, "pdf", Options{}, never); !errors.Is(err, ErrTooManyPages) {
		t.Fatalf("10000 pages: %v, want ErrTooManyPages", err)
	}
	t.Logf("10000-page pdf refused in %v", time.Since(start))
	// The limit applies to the selection, which can reach the far end.
	nums, _, err := collect(t, r, big, "pdf", Options{DPI: testDPI, FirstPage: 9998})
	if err != nil || !slices.Equal(nums, []int{9998, 9999, 10000}) {
		t.Fatalf("pages 9998-: %v, %v", nums, err)
	}

	// A page tree that only claims 10000 pages is refused on the claim.
	claim := buildPDF(numbered(1, 200, 300), nil, 10000)
	if err := Pages(ctx, r, claim, "pdf", Options{MaxPages: 9999}, never); !errors.Is(err, ErrTooManyPages) {
		t.Fatalf("/Count 10000: %v, want ErrTooManyPages", err)
	}
	if err := Pages(ctx, nil, buildTIFF(numberedTIFF(4)), "tiff", Options{MaxPages: 3}, never); !errors.Is(err, ErrTooManyPages) {
		t.Fatalf("4-page tiff, MaxPages 3: %v", err)
	}
}

func TestMaxPixels(t *testing.T) {
	r := renderer(t)
	pages := numbered(3, 200, 300)
	// 200 in square at 2400 dpi is 2.3e11 pixels, far past what PDFium in
	// WebAssembly could allocate: only a check before rendering gives
	// imageio.ErrTooLarge rather than a render failure.
	pages[1].w, pages[1].h = 14400, 14400
	data := buildPDF(pages, nil, 0)
	var seen []int
	err := Pages(context.Background(), r, data, "pdf", Options{DPI: 2400, FirstPage: 2, MaxPixels: 1e6}, func(p Page, _ int) error {
		seen = append(seen, p.Number)
		return nil
	})
	if !errors.Is(err, imageio.ErrTooLarge) || len(seen) != 0 {
		t.Fatalf("huge page: %v after pages %v, want imageio.ErrTooLarge first", err, seen)
	}
	// Pages before the offending one are delivered.
	err = Pages(context.Background(), r, data, "pdf", Options{DPI: testDPI, MaxPixels: 200 * 300}, func(p Page, _ int) error {
		seen = append(seen, p.Number)
		return nil
	})
	if !errors.Is(err, imageio.ErrTooLarge) || !slices.Equal(seen, []int{1}) {
		t.Fatalf("%v after pages %v, want imageio.ErrTooLarge after page 1", err, seen)
	}
}

func TestEncrypted(t *testing.T) {
	r := renderer(t)
	ctx := context.Background()
	locked := buildPDF(numbered(2, 200, 300), &security{user: "secret", owner: "owner"}, 0)
	if _, err := PageCount(ctx, r, locked, "pdf"); !errors.Is(err, ErrEncrypted) {
		t.Fatalf("PageCount: %v, want ErrEncrypted", err)
	}
	if err := Pages(ctx, r, locked, "pdf", Options{}, func(Page, int) error { return nil }); !errors.Is(err, ErrEncrypted) {
		t.Fatalf("Pages: %v, want ErrEncrypted", err)
	}
	// The same encryption with an empty user password opens without one:
	// the generator's cryptography is right, so the refusal above is about
	// the password.
	open := buildPDF(numbered(2, 200, 300), &security{owner: "owner"}, 0)
	nums, _, err := collect(t, r, open, "pdf", Options{DPI: testDPI})
	if err != nil || !slices.Equal(nums, []int{1, 2}) {
		t.Fatalf("owner-only encryption: %v, %v", nums, err)
	}
}

func TestBrokenPDF(t *testing.T) {
	r := renderer(t)
	garbage := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("\x00garbage\xff"), 200)...)
	noPages := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	for name, data := range map[string][]byte{"garbage": garbage, "empty": nil, "no pages": noPages, "png": encodePNG(t, 4, 4)} {
		if _, err := PageCount(context.Background(), r, data, "pdf"); !errors.Is(err, ErrBrokenPDF) {
			t.Errorf("%s: PageCount %v, want ErrBrokenPDF", name, err)
		}
		if err := Pages(context.Background(), r, data, "pdf", Options{}, func(Page, int) error { return nil }); !errors.Is(err, ErrBrokenPDF) {
			t.Errorf("%s: Pages %v, want ErrBrokenPDF", name, err)
		}
	}
	// A PDF whose cross-reference offsets are all wrong is rebuilt by
	// PDFium, as by every viewer.
	good := buildPDF(numbered(2, 200, 300), nil, 0)
	shifted := append([]byte("%PDF-1.4\n% padding that moves every object\n"), good[len("%PDF-1.4\n"):]...)
	if nums, _, err := collect(t, r, shifted, "pdf", Options{DPI: testDPI}); err != nil || !slices.Equal(nums, []int{1, 2}) {
		t.Fatalf("stale xref: %v, %v", nums, err)
	}
}

func TestTransparency(t *testing.T) {
	p := testPage{w: 200, h: 300, bar: 8, ops: "/GS1 gs 0 g 100 100 50 50 re f", resources: "/ExtGState << /GS1 << /ca 0.5 >> >>"}
	data := buildPDF([]testPage{p}, nil, 0)
	var m *imgproc.Image
	if err := Pages(context.Background(), renderer(t), data, "pdf", Options{DPI: testDPI}, func(p Page, _ int) error {
		m = p.Image
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Half-transparent black over white paper is mid gray, the paper white.
	if px := m.Pix[m.Offset(125, 300-125):][:3]; math.Abs(float64(px[0])-127.5) > 2 || px[0] != px[1] || px[1] != px[2] {
		t.Errorf("half-transparent black: %v, want about 128 gray", px)
	}
	if px := m.Pix[m.Offset(150, 290):][:3]; !bytes.Equal(px, []byte{255, 255, 255}) {
		t.Errorf("paper: %v, want white", px)
	}
	if got := barPt(m, testDPI); got != 8 {
		t.Errorf("bar %g pt, want 8", got)
	}
}

func TestPageCount(t *testing.T) {
	r := renderer(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		r      *Renderer
		data   []byte
		format string
		want   int
		err    error
	}{
		"pdf":         {r, buildPDF(numbered(5, 200, 300), nil, 0), "pdf", 5, nil},
		"pdf, no r":   {nil, buildPDF(numbered(5, 200, 300), nil, 0), "pdf", 0, ErrNoRenderer},
		"tiff":        {nil, buildTIFF(numberedTIFF(3)), "tiff", 3, nil},
		"png":         {nil, encodePNG(t, 3, 3), "png", 1, nil},
		"bad png":     {nil, encodePNG(t, 3, 3)[:20], "png", 0, imageio.ErrTruncated},
		"tiff, empty": {nil, nil, "tiff", 0, imageio.ErrEmpty},
	} {
		n, err := PageCount(ctx, tc.r, tc.data, tc.format)
		if n != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: %d, %v; want %d, %v", name, n, err, tc.want, tc.err)
		}
	}
}

func TestIsDocument(t *testing.T) {
	for name, tc := range map[string]struct {
		data   []byte
		format string
		ok     bool
	}{
		"pdf":              {buildPDF(numbered(1, 200, 300), nil, 0), "pdf", true},
		"broken pdf":       {[]byte("%PDF-garbage"), "pdf", true},
		"multi-page tiff":  {buildTIFF(numberedTIFF(2)), "tiff", true},
		"single-page tiff": {buildTIFF(numberedTIFF(1)), "", false},
		"png":              {encodePNG(t, 2, 2), "", false},
		"pdf later":        {[]byte(" %PDF-1.4"), "", false},
		"empty":            {nil, "", false},
	} {
		hdr, _ := imageio.DecodeConfig(tc.data)
		if f, ok := IsDocument(tc.data, hdr); f != tc.format || ok != tc.ok {
			t.Errorf("%s: %q, %v; want %q, %v", name, f, ok, tc.format, tc.ok)
		}
	}
}

func TestSingleImage(t *testing.T) {
	data := encodePNG(t, 5, 4)
	var got []Page
	err := Pages(context.Background(), nil, data, "png", Options{}, func(p Page, total int) error {
		if total != 1 {
			t.Errorf("total %d", total)
		}
		got = append(got, p)
		return nil
	})
	if err != nil || len(got) != 1 || got[0].Number != 1 || got[0].Image.W != 5 || got[0].Image.H != 4 {
		t.Fatalf("%v, %+v", err, got)
	}
	if err := Pages(context.Background(), nil, data, "png", Options{FirstPage: 2}, func(Page, int) error { return nil }); !errors.Is(err, ErrPageRange) {
		t.Fatalf("page 2 of an image: %v", err)
	}
	if err := Pages(context.Background(), nil, data, "png", Options{MaxPixels: 19}, func(Page, int) error { return nil }); !errors.Is(err, imageio.ErrTooLarge) {
		t.Fatalf("MaxPixels 19 for 5x4: %v", err)
	}
}

func TestTIFFPages(t *testing.T) {
	pages := numberedTIFF(5)
	pages[2] = tiffPage{w: 120, h: 90, pix: barPix(120, 90, 3)} // sizes may differ page to page
	nums, totals, err := collect(t, nil, buildTIFF(pages), "tiff", Options{DPI: 72})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(nums, []int{1, 2, 3, 4, 5}) || !slices.Equal(totals, []int{5, 5, 5, 5, 5}) {
		t.Fatalf("pages %v totals %v", nums, totals)
	}
	cut := buildTIFF(numberedTIFF(3))
	cut = cut[:len(cut)-40] // inside the last directory: the chain ends at page 2
	if n, err := PageCount(context.Background(), nil, cut, "tiff"); n != 2 || err != nil {
		t.Fatalf("cut tiff: %d pages, %v", n, err)
	}
}

func TestFnError(t *testing.T) {
	stop := errors.New("stop")
	for _, doc := range []struct {
		format string
		data   []byte
	}{{"pdf", buildPDF(numbered(5, 200, 300), nil, 0)}, {"tiff", buildTIFF(numberedTIFF(5))}} {
		calls := 0
		err := Pages(context.Background(), renderer(t), doc.data, doc.format, Options{DPI: testDPI}, func(Page, int) error {
			calls++
			return stop
		})
		if err != stop || calls != 1 {
			t.Errorf("%s: %v after %d calls, want the callback's error after 1", doc.format, err, calls)
		}
	}
}

func TestCancel(t *testing.T) {
	r := renderer(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Pages(ctx, r, buildPDF(numbered(6, 200, 300), nil, 0), "pdf", Options{DPI: testDPI}, func(Page, int) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("%v after %d calls, want context.Canceled after 1", err, calls)
	}
	if _, err := PageCount(ctx, r, buildPDF(numbered(1, 200, 300), nil, 0), "pdf"); !errors.Is(err, context.Canceled) {
		t.Fatalf("PageCount on a cancelled context: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	r := renderer(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			n := 3 + g
			nums, _, err := collect(t, r, buildPDF(numbered(n, 200, 300), nil, 0), "pdf", Options{DPI: testDPI})
			if err != nil || len(nums) != n || nums[n-1] != n {
				t.Errorf("goroutine %d: %v, %v", g, nums, err)
			}
		})
	}
	wg.Wait()
}

func TestRendererClose(t *testing.T) {
	r, err := NewRenderer(context.Background(), WithCompilationCacheDir(cacheDir()))
	if err != nil {
		t.Fatal(err)
	}
	data := buildPDF(numbered(1, 200, 300), nil, 0)
	if n, err := PageCount(context.Background(), r, data, "pdf"); n != 1 || err != nil {
		t.Fatalf("before Close: %d, %v", n, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := PageCount(context.Background(), r, data, "pdf"); !errors.Is(err, ErrNoRenderer) {
		t.Fatalf("after Close: %v, want ErrNoRenderer", err)
	}
	if err := Pages(context.Background(), nil, data, "pdf", Options{}, func(Page, int) error { return nil }); !errors.Is(err, ErrNoRenderer) {
		t.Fatalf("nil renderer: %v, want ErrNoRenderer", err)
	}
}

func encodePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type tiffPage struct {
	w, h int
	pix  []byte // 8-bit gray
}

// barPix is a white w×h page with a black column band from x=barX+36-4 to
// barX+36+4 and y=36 down barFor(number) pixels: at 72 dpi the same
// geometry barPt measures on PDF renders.
func barPix(w, h, number int) []byte {
	pix := bytes.Repeat([]byte{255}, w*h)
	x := int(barX + 36)
	for y := 36; y < 36+int(barFor(number)) && y < h; y++ {
		for dx := -4; dx <= 4; dx++ {
			if x+dx >= 0 && x+dx < w {
				pix[y*w+x+dx] = 0
			}
		}
	}
	return pix
}

func numberedTIFF(n int) []tiffPage {
	pages := make([]tiffPage, n)
	for i := range pages {
		pages[i] = tiffPage{w: 100, h: 300, pix: barPix(100, 300, i+1)}
	}
	return pages
}

// buildTIFF writes uncompressed 8-bit gray pages, one strip each, little
// endian, each directory after its pixels.
func buildTIFF(pages []tiffPage) []byte {
	bo := binary.LittleEndian
	out := []byte("II*\x00\x00\x00\x00\x00")
	prevNext := 4
	for _, p := range pages {
		pixOff := len(out)
		out = append(out, p.pix...)
		if len(out)%2 == 1 {
			out = append(out, 0)
		}
		entries := [][3]uint32{ // tag, type, value
			{256, 4, uint32(p.w)}, {257, 4, uint32(p.h)}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
			{273, 4, uint32(pixOff)}, {277, 3, 1}, {278, 4, uint32(p.h)}, {279, 4, uint32(len(p.pix))},
		}
		bo.PutUint32(out[prevNext:], uint32(len(out)))
		out = bo.AppendUint16(out, uint16(len(entries)))
		for _, e := range entries {
			out = bo.AppendUint16(out, uint16(e[0]))
			out = bo.AppendUint16(out, uint16(e[1]))
			out = bo.AppendUint32(out, 1)
			if e[1] == 3 {
				out = bo.AppendUint16(out, uint16(e[2]))
				out = bo.AppendUint16(out, 0)
			} else {
				out = bo.AppendUint32(out, e[2])
			}
		}
		prevNext = len(out)
		out = bo.AppendUint32(out, 0)
	}
	return out
}
