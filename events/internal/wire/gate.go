package wire

import (
	"context"
	"fmt"
	"sync"
)

// Gate bounds the invocations in flight and drains them on close. Every
// invocation context derives from Life, so a drain past its deadline can
// cancel the stragglers.
type Gate struct {
	Life   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	max     int
	n       int
	closing bool
	// idle is closed once closing is set and n has reached zero; n only
	// falls after closing, so that happens exactly once.
	idle chan struct{}
}

func NewGate(max int) *Gate {
	life, cancel := context.WithCancel(context.Background())
	return &Gate{Life: life, cancel: cancel, max: max, idle: make(chan struct{})}
}

// Enter admits one invocation unless the gate is full or closing.
func (g *Gate) Enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing || g.n >= g.max {
		return false
	}
	g.n++
	return true
}

// Leave ends an invocation admitted by Enter.
func (g *Gate) Leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.closing && g.n == 0 {
		close(g.idle)
	}
}

// IsClosing reports whether Close has been called.
func (g *Gate) IsClosing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closing
}

// Close stops admitting and waits for the admitted invocations until ctx
// ends; then it cancels them and still waits, since each must be answered.
func (g *Gate) Close(ctx context.Context) error {
	g.mu.Lock()
	if !g.closing {
		g.closing = true
		if g.n == 0 {
			close(g.idle)
		}
	}
	g.mu.Unlock()
	select {
	case <-g.idle:
		g.cancel()
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	left := g.n
	g.mu.Unlock()
	g.cancel()
	<-g.idle
	if left == 0 {
		return nil
	}
	return fmt.Errorf("%w: cancelled %d invocations: %w", ErrDrainIncomplete, left, ctx.Err())
}
