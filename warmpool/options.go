package warmpool

import "time"

// Defaults follow the Python seed (model_idle_timeout_seconds=300).
const (
	DefaultIdleTimeout = 300 * time.Second
	DefaultLoadTimeout = 5 * time.Minute
)

type config struct {
	idleTimeout time.Duration
	loadTimeout time.Duration
	probe       func() uint64
	obs         Observer
}

func defaultConfig() config {
	return config{
		idleTimeout: DefaultIdleTimeout,
		loadTimeout: DefaultLoadTimeout,
	}
}

// Option configures a Pool. Out-of-range values are ignored and the default is
// kept, because New has no error to report them with.
type Option func(*config)

// WithIdleTimeout sets how long a model with no references stays loaded.
// d must be > 0.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.idleTimeout = d
		}
	}
}

// WithLoadTimeout bounds the context given to the LoadFunc. d must be > 0.
func WithLoadTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.loadTimeout = d
		}
	}
}

// WithMemoryProbe sets a function (e.g. process RSS in bytes) sampled before
// and after each load; the growth is recorded as ModelStats.LoadBytes. Loads
// of different keys may overlap, in which case each sees the other's growth,
// so the figure is an upper bound.
func WithMemoryProbe(f func() uint64) Option {
	return func(c *config) {
		if f != nil {
			c.probe = f
		}
	}
}

// WithObserver sets the metrics hooks.
func WithObserver(o Observer) Option {
	return func(c *config) {
		if o != nil {
			c.obs = o
		}
	}
}
