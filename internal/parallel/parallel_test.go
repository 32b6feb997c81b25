package parallel

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

func TestForCallsEachOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1000} {
		counts := make([]atomic.Int32, n)
		For(n, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Errorf("n=%d: f(%d) called %d times", n, i, c)
			}
		}
	}
}

// A panic in a worker reaches For's caller, where a recover sees it.
func TestForCarriesPanic(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one CPU: For runs f on the caller's goroutine")
	}
	got := func() (p any) {
		defer func() { p = recover() }()
		For(8, func(i int) {
			if i == 5 {
				panic("bad line")
			}
		})
		return nil
	}()
	err, ok := got.(error)
	if !ok || !strings.Contains(err.Error(), "bad line") {
		t.Fatalf("recovered %v, want the worker's panic", got)
	}
}
