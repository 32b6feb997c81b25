package events

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ocrhost/ocrhost/events/internal/wire"
)

// Defaults of the transports' options.
const (
	// DefaultSource is the source attribute of result and failure events.
	DefaultSource = wire.DefaultSource
	// DefaultMaxInFlight bounds the invocations a transport runs at once.
	DefaultMaxInFlight = 8
	// DefaultRequestSubject is the NATS subject requests arrive on.
	DefaultRequestSubject = wire.DefaultRequestSubject
	// DefaultResultSubject is the NATS subject answers to requests without
	// a reply inbox are published on.
	DefaultResultSubject = wire.DefaultResultSubject
	// DefaultQueueGroup spreads requests over all host instances.
	DefaultQueueGroup = wire.DefaultQueueGroup
	// DefaultMaxBodyBytes caps an HTTP request body.
	DefaultMaxBodyBytes = wire.DefaultMaxBodyBytes
	// DefaultRetryAfter is the HTTP Retry-After sent with retryable failures.
	DefaultRetryAfter = time.Second
)

// common holds what both transports share.
type common struct {
	source      string
	maxInFlight int
	log         *slog.Logger
}

func defaultCommon() common {
	return common{source: DefaultSource, maxInFlight: DefaultMaxInFlight, log: slog.Default()}
}

func (c *common) validate() error {
	if c.source == "" {
		return fmt.Errorf("%w: empty source", ErrInvalidOption)
	}
	if c.maxInFlight < 1 {
		return fmt.Errorf("%w: max in flight %d < 1", ErrInvalidOption, c.maxInFlight)
	}
	if c.log == nil {
		return fmt.Errorf("%w: nil logger", ErrInvalidOption)
	}
	return nil
}

// NATSOption configures the NATS transport.
type NATSOption interface{ applyNATS(*natsConfig) }

// HTTPOption configures the HTTP transport.
type HTTPOption interface{ applyHTTP(*httpConfig) }

// Option configures either transport.
type Option func(*common)

func (o Option) applyNATS(c *natsConfig) { o(&c.common) }
func (o Option) applyHTTP(c *httpConfig) { o(&c.common) }

// WithSource sets the source attribute of result and failure events
// (default DefaultSource).
func WithSource(source string) Option { return func(c *common) { c.source = source } }

// WithMaxInFlight bounds the invocations running at once (default
// DefaultMaxInFlight); requests beyond it are answered busy at once.
func WithMaxInFlight(n int) Option { return func(c *common) { c.maxInFlight = n } }

// WithLogger sets where answers that could not be sent, and answer events
// dropped to avoid a loop, are reported (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *common) { c.log = l } }

type natsOption func(*natsConfig)

func (o natsOption) applyNATS(c *natsConfig) { o(c) }

// WithRequestSubject sets the subject requests arrive on (default
// DefaultRequestSubject); wildcards are allowed.
func WithRequestSubject(subject string) NATSOption {
	return natsOption(func(c *natsConfig) { c.requestSubject = subject })
}

// WithResultSubject sets the subject answers to requests without a reply
// inbox go to (default DefaultResultSubject).
func WithResultSubject(subject string) NATSOption {
	return natsOption(func(c *natsConfig) { c.resultSubject = subject })
}

// WithQueueGroup sets the queue group of the request subscription (default
// DefaultQueueGroup); empty makes every instance receive every request.
func WithQueueGroup(group string) NATSOption {
	return natsOption(func(c *natsConfig) { c.queueGroup = group })
}

// WithLargeAnswers makes answers too large for a message go through s: the
// answer event then carries a jobs.ObjectRef (datacontenttype
// jobs.MediaObjectRef), which a Client with JetStream reads and deletes.
// Without it such an answer is replaced by a too_large failure.
func WithLargeAnswers(s AnswerStore) NATSOption {
	return natsOption(func(c *natsConfig) { c.answers = s })
}

type httpOption func(*httpConfig)

func (o httpOption) applyHTTP(c *httpConfig) { o(c) }

// WithMaxBodyBytes caps the request body (default DefaultMaxBodyBytes);
// larger requests are answered 413 too_large.
func WithMaxBodyBytes(n int64) HTTPOption {
	return httpOption(func(c *httpConfig) { c.maxBodyBytes = n })
}

// WithRetryAfter sets the Retry-After of 429 answers, rounded up to whole
// seconds (default DefaultRetryAfter).
func WithRetryAfter(d time.Duration) HTTPOption {
	return httpOption(func(c *httpConfig) { c.retryAfter = d })
}
