// Package parallel runs a loop's iterations side by side on the CPUs.
package parallel

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// For calls f(i) for every i in [0, n) on up to GOMAXPROCS goroutines and
// returns when all calls have. Each f(i) must touch only what belongs to i.
// A panic in f comes back as a panic of For's caller, with the worker's
// stack in its value, so a caller that recovers (the host turns a panic
// into a failed call) still does.
func For(n int, f func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		fault error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					once.Do(func() { fault = fmt.Errorf("%v (in a parallel.For worker)\n%s", p, debug.Stack()) })
				}
			}()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
	if fault != nil {
		panic(fault)
	}
}
