package document

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeSource produces numbered pages and records how far it has got.
type fakeSource struct {
	mu       sync.Mutex
	started  int  // the highest page whose render has begun
	fail     int  // this page fails to render
	slowFrom int  // pages from this one on render until ctx ends (0: none)
	blocking bool // every render waits for ctx to end
}

func (s *fakeSource) count(context.Context) (int, error) { return 0, nil }

func (s *fakeSource) page(ctx context.Context, n int) (Page, error) {
	s.mu.Lock()
	s.started = n
	s.mu.Unlock()
	if s.blocking || (s.slowFrom > 0 && n >= s.slowFrom) {
		<-ctx.Done()
		return Page{}, ctx.Err()
	}
	if n == s.fail {
		return Page{}, errBroken
	}
	return Page{Number: n}, nil
}

func (s *fakeSource) startedUpTo() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

var errBroken = errors.New("broken page")

// noLeak fails t if goroutines started after before are still running a
// second after the call under test returned.
func noLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPrefetchOneAhead checks that page n+1 is rendered while fn reads
// page n, and page n+2 not before fn is done with page n.
func TestPrefetchOneAhead(t *testing.T) {
	before := runtime.NumGoroutine()
	src := &fakeSource{}
	var got []int
	err := stream(context.Background(), src, 2, 6, false, func(p Page, total int) error {
		got = append(got, p.Number)
		if total != 5 {
			t.Errorf("total %d, want 5", total)
		}
		want := min(p.Number+1, 6)
		deadline := time.Now().Add(5 * time.Second)
		for src.startedUpTo() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // time enough to run further ahead, were it allowed
		if s := src.startedUpTo(); s != want {
			t.Errorf("fn on page %d: rendering reached page %d, want %d", p.Number, s, want)
		}
		return nil
	})
	if err != nil || !slices.Equal(got, []int{2, 3, 4, 5, 6}) {
		t.Fatalf("pages %v, %v", got, err)
	}
	noLeak(t, before)
}

// TestPrefetchStops checks every way a stream ends early: the error comes
// back, no page follows it, and the render ahead stops with the call.
func TestPrefetchStops(t *testing.T) {
	errFn := errors.New("fn failed")
	for _, c := range []struct {
		name     string
		src      *fakeSource
		failFn   int // fn fails on this page
		cancelAt int // fn cancels ctx on this page
		want     error
		pages    []int
	}{
		{name: "fn error", src: &fakeSource{slowFrom: 3}, failFn: 2, want: errFn, pages: []int{1, 2}},
		{name: "render error", src: &fakeSource{fail: 3}, want: errBroken, pages: []int{1, 2}},
		{name: "first page error", src: &fakeSource{fail: 1}, want: errBroken},
		{name: "cancel in fn", src: &fakeSource{slowFrom: 2}, cancelAt: 1, want: context.Canceled, pages: []int{1}},
		{name: "cancel mid render", src: &fakeSource{blocking: true}, want: context.DeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			before := runtime.NumGoroutine()
			// Renders that wait for ctx must end when the call does, long
			// before this deadline.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if c.src.blocking {
				ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
			}
			defer cancel()
			var got []int
			err := stream(ctx, c.src, 1, 5, false, func(p Page, _ int) error {
				got = append(got, p.Number)
				if p.Number == c.cancelAt {
					cancel()
				}
				if p.Number == c.failFn {
					return errFn
				}
				return nil
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
			if !slices.Equal(got, c.pages) {
				t.Fatalf("pages %v, want %v", got, c.pages)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("returned after %v: waited for a render it should have stopped", d)
			}
			noLeak(t, before)
		})
	}
}
