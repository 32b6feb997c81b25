package warmpool_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ocrhost/ocrhost/warmpool"
)

// session stands in for an inference session.
type session struct{ name string }

func ExamplePool() {
	ctx := context.Background()
	load := func(_ context.Context, k warmpool.Key) (*session, error) {
		return &session{name: "session for " + k.String()}, nil
	}
	destroy := func(k warmpool.Key, _ *session) error {
		fmt.Println("destroy", k)
		return nil
	}
	pool := warmpool.New(load, destroy, warmpool.WithIdleTimeout(5*time.Minute))

	// One invocation leases the models it needs on one device; the first
	// Acquire loads them.
	lease, err := pool.Acquire(ctx, "cpu", "det", "rec")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lease.Get("det").name)
	lease.Release()

	// Released models stay warm until their idle timer fires.
	for _, s := range pool.Stats() {
		fmt.Printf("%v loaded=%v refs=%d loads=%d\n", s.Key, s.Loaded, s.Refs, s.Loads)
	}

	// Under memory pressure the least recently used idle model goes first.
	fmt.Println("evicted:", pool.EvictIdle(1))

	// Teardown destroys what is left and refuses new leases.
	if err := pool.Teardown(ctx); err != nil {
		fmt.Println(err)
	}
	_, err = pool.Acquire(ctx, "cpu", "det")
	fmt.Println(err)

	// Output:
	// session for det@cpu
	// det@cpu loaded=true refs=0 loads=1
	// rec@cpu loaded=true refs=0 loads=1
	// destroy det@cpu
	// evicted: 1
	// destroy rec@cpu
	// warmpool: pool closed
}

func ExampleKey_String() {
	fmt.Println(warmpool.Key{Model: "det", Device: "cuda:0"})
	// Output: det@cuda:0
}
