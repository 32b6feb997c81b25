package document

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// heavyOps is one filled path of n Bézier segments criss-crossing a
// 200×300 pt page: about a second of rasterising per 2000 segments.
func heavyOps(n int) string {
	var b strings.Builder
	b.WriteString("0 0 1 rg 10 10 m\n")
	for i := range n {
		fmt.Fprintf(&b, "%d %d %d %d %d %d c\n", (i*37)%190+5, (i*91)%290+5, (i*53)%190+5, (i*17)%290+5, (i*71)%190+5, (i*29)%290+5)
	}
	b.WriteString("f*\n")
	return b.String()
}

func TestCancelMidRender(t *testing.T) {
	r := renderer(t)
	data := buildPDF([]testPage{{w: 200, h: 300, bar: 4, ops: heavyOps(5000)}}, nil, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Pages(ctx, r, data, "pdf", Options{DPI: testDPI}, func(Page, int) error {
		t.Error("the page was delivered")
		return nil
	})
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want context.DeadlineExceeded", err)
	}
	t.Logf("cancelled render returned after %v", elapsed)
	// The render takes seconds; stopping it must not wait for it to end.
	if elapsed > 1500*time.Millisecond {
		t.Fatalf("returned after %v", elapsed)
	}
	// The killed instance is replaced: the renderer still works.
	nums, _, err := collect(t, r, buildPDF(numbered(2, 200, 300), nil, 0), "pdf", Options{DPI: testDPI})
	if err != nil || !slices.Equal(nums, []int{1, 2}) {
		t.Fatalf("after a kill: %v, %v", nums, err)
	}
}
