package events

import (
	"context"
	"fmt"
	"sync"
)

// gate bounds the invocations in flight and drains them on close. Every
// invocation context derives from life, so a drain past its deadline can
// cancel the stragglers.
type gate struct {
	life   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	max     int
	n       int
	closing bool
	// idle is closed once closing is set and n has reached zero; n only
	// falls after closing, so that happens exactly once.
	idle chan struct{}
}

func newGate(max int) *gate {
	life, cancel := context.WithCancel(context.Background())
	return &gate{life: life, cancel: cancel, max: max, idle: make(chan struct{})}
}

// enter admits one invocation unless the gate is full or closing.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing || g.n >= g.max {
		return false
	}
	g.n++
	return true
}

// leave ends an invocation admitted by enter.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.closing && g.n == 0 {
		close(g.idle)
	}
}

// isClosing reports whether close has been called.
func (g *gate) isClosing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closing
}

// close stops admitting and waits for the admitted invocations until ctx
// ends; then it cancels them and still waits, since each must be answered.
func (g *gate) close(ctx context.Context) error {
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
