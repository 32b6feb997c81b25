package host

import "testing"

func TestDetectionConcurrencyDefault(t *testing.T) {
	for _, c := range []struct{ predictions, set, want int }{
		{1, 0, 1}, {2, 0, 1}, {3, 0, 1}, {8, 0, 4}, {2, 2, 2}, {8, 1, 1},
	} {
		cfg := defaultConfig()
		WithMaxPredictions(c.predictions)(&cfg)
		WithDetectionConcurrency(c.set)(&cfg)
		if got := cfg.detectionConcurrency(); got != c.want {
			t.Errorf("%d predictions, set %d: %d detections at once, want %d", c.predictions, c.set, got, c.want)
		}
	}
}
