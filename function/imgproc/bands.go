package imgproc

import (
	"runtime"
	"sync"
)

// bandPixels is the least image worth splitting: below it, starting the
// goroutines costs more than the rows (a recognition line, a crop).
const bandPixels = 1 << 17

// bands calls f on consecutive row ranges [y0, y1) covering [0, h) of an
// image w wide, side by side, one band per CPU for an image of at least
// bandPixels and a single band otherwise. Each row is computed alone, so
// the result does not depend on the split.
func bands(h, w int, f func(y0, y1 int)) {
	n := min(runtime.GOMAXPROCS(0), h)
	if n <= 1 || w*h < bandPixels {
		f(0, h)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		y0, y1 := i*h/n, (i+1)*h/n
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(y0, y1)
		}()
	}
	wg.Wait()
}
