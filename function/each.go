package function

import (
	"runtime"

	"golang.org/x/sync/errgroup"
)

// each calls f(i) for every i in [0, n) on as many goroutines as there are
// CPUs, and returns when all calls have. The pipeline's per-line Go work
// (crops, line normalisation, CTC decoding) runs between inferences, while
// ONNX Runtime's threads wait: on one goroutine it left the other CPUs
// idle. Each f(i) must touch only what belongs to i.
func each(n int, f func(i int)) {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range n {
		g.Go(func() error {
			f(i)
			return nil
		})
	}
	_ = g.Wait() // f returns no error
}
