package imgproc

import (
	"runtime"

	"github.com/ocrhost/ocrhost/internal/parallel"
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
	parallel.For(n, func(i int) { f(i*h/n, (i+1)*h/n) })
}
