package function

import "context"

// Trace holds hooks a caller sets to follow one call as it runs, as
// net/http/httptrace does for a request. A nil hook is not called.
type Trace struct {
	// DetSized reports the largest detection input, w×h pixels, the call
	// uses, as soon as it is settled: before detection under
	// DetScaleFixed; after the probe pass under DetScaleAuto, which is when
	// the memory a call needs can be known better than from the image size.
	DetSized func(w, h int)
	// RecSized reports the largest recognition batch, lines × width
	// pixels at height 48, once detection has found the lines and before
	// recognition runs.
	RecSized func(lines, width int)
	// Input reports each model input before it runs: the model, the
	// tensor (the caller's to keep, not to change) and its shape.
	// Calibration collects the pipeline's own inputs with it (cmd/quantize).
	Input func(k Kind, data []float32, shape []int64)
}

type traceKey struct{}

// WithTrace returns a context whose calls report to t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	if t == nil {
		return &Trace{}
	}
	return t
}

func traceDetSized(ctx context.Context, w, h int) {
	if f := traceFrom(ctx).DetSized; f != nil {
		f(w, h)
	}
}

func traceRecSized(ctx context.Context, lines, width int) {
	if f := traceFrom(ctx).RecSized; f != nil {
		f(lines, width)
	}
}

func traceInput(ctx context.Context, k Kind, data []float32, shape []int64) {
	if f := traceFrom(ctx).Input; f != nil {
		f(k, data, shape)
	}
}
