package document

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procStatus reads a kB field ("VmRSS", "VmHWM") of /proc/self/status.
func procStatus(tb testing.TB, field string) float64 {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Skipf("no %s in /proc/self/status", field)
	return 0
}

// resetPeak returns freed heap to the OS and restarts VmHWM from the
// current RSS (Linux clear_refs), returning that RSS in MiB.
func resetPeak(tb testing.TB) float64 {
	tb.Helper()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Skip("cannot reset the RSS high-water mark:", err)
	}
	return procStatus(tb, "VmRSS")
}

// textPages are A4 pages of 10 pt body text, 60 lines each, plus the bar.
func textPages(n int) []testPage {
	var ops strings.Builder
	ops.WriteString("BT /F1 10 Tf 12 TL 72 760 Td\n")
	for i := range 60 {
		fmt.Fprintf(&ops, "(Line %d: the quick brown fox jumps over the lazy dog, 0123456789.) '\n", i+1)
	}
	ops.WriteString("ET\n")
	pages := numbered(n, 595.28, 841.89)
	for i := range pages {
		pages[i].ops = ops.String()
	}
	return pages
}

// BenchmarkPeakRSS renders A4 text PDFs at DefaultDPI page by page and
// reports the process's peak RSS above what it held before the call: it
// should not grow with the page count. Run with -benchtime=1x.
func BenchmarkPeakRSS(b *testing.B) {
	r := renderer(b)
	for _, n := range []int{2, 50} {
		data := buildPDF(textPages(n), nil, 0)
		b.Run(fmt.Sprintf("pages=%d", n), func(b *testing.B) {
			var peak float64
			for b.Loop() {
				base := resetPeak(b)
				err := Pages(context.Background(), r, data, "pdf", Options{}, func(p Page, _ int) error {
					if p.Image.W == 0 {
						return fmt.Errorf("page %d empty", p.Number)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				peak = max(peak, procStatus(b, "VmHWM")-base)
			}
			b.ReportMetric(peak, "peak-MiB")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*n), "ms/page")
		})
	}
}

// BenchmarkNewRenderer reports the cost of loading PDFium from the
// compilation cache: the warm pool's reload after an eviction.
func BenchmarkNewRenderer(b *testing.B) {
	renderer(b) // the cache is populated
	var rss float64
	for b.Loop() {
		base := resetPeak(b)
		start := time.Now()
		r, err := NewRenderer(context.Background(), WithCompilationCacheDir(cacheDir()))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "load-ms")
		rss = procStatus(b, "VmRSS") - base
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(rss, "rss-MiB")
}
