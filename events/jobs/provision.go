package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
)

const (
	// provisionAttempt bounds one create-or-update request of a stream,
	// consumer or bucket. A JetStream cluster can leave identical creates
	// that race unanswered although it made the stream, as when several
	// hosts start together (nats-server issue 3677); a repeat finds it and
	// is answered at once.
	provisionAttempt = 2 * time.Second
	// provisionAttempts bounds the repeats of a create-or-update request
	// that got no answer.
	provisionAttempts = 5
)

// provision runs an idempotent create-or-update request, repeating it
// while it goes unanswered within provisionAttempt and ctx lasts.
func provision[T any](ctx context.Context, request func(context.Context) (T, error)) (T, error) {
	for i := 1; ; i++ {
		attempt, cancel := context.WithTimeout(ctx, provisionAttempt)
		v, err := request(attempt)
		cancel()
		unanswered := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
		if !unanswered || i == provisionAttempts || ctx.Err() != nil {
			return v, err
		}
	}
}
