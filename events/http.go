package events

import (
	"context"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

type httpConfig struct {
	common
	maxBodyBytes int64
	retryAfter   time.Duration
}

// HTTP serves CloudEvents POSTed to "/" (Knative trigger delivery), binary
// or structured, and answers with a binary-mode event: the result with 200,
// or the failure with the status its code maps to (see the package doc).
type HTTP struct {
	cfg        httpConfig
	p          wire.Processor
	gate       *wire.Gate
	retryAfter string
}

var _ http.Handler = (*HTTP)(nil)

// NewHTTP returns the handler serving requests with inv. Options:
// WithMaxBodyBytes, WithRetryAfter, WithSource, WithMaxInFlight, WithLogger.
func NewHTTP(inv Invoker, opts ...HTTPOption) (*HTTP, error) {
	cfg := httpConfig{
		common:       defaultCommon(),
		maxBodyBytes: DefaultMaxBodyBytes,
		retryAfter:   DefaultRetryAfter,
	}
	for _, o := range opts {
		o.applyHTTP(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.maxBodyBytes < 1 {
		return nil, fmt.Errorf("%w: max body bytes %d < 1", ErrInvalidOption, cfg.maxBodyBytes)
	}
	if cfg.retryAfter < 0 {
		return nil, fmt.Errorf("%w: negative retry-after %v", ErrInvalidOption, cfg.retryAfter)
	}
	return &HTTP{
		cfg:        cfg,
		p:          wire.Processor{Invoker: inv, Source: cfg.source},
		gate:       wire.NewGate(cfg.maxInFlight),
		retryAfter: strconv.FormatInt(int64(math.Ceil(cfg.retryAfter.Seconds())), 10),
	}, nil
}

// statusOf maps failure codes to HTTP statuses.
var statusOf = map[host.Code]int{
	host.CodeInvalidInput:       http.StatusBadRequest,
	host.CodeUnsupportedFormat:  http.StatusUnsupportedMediaType,
	host.CodeTooLarge:           http.StatusRequestEntityTooLarge,
	host.CodeBusy:               http.StatusTooManyRequests,
	host.CodeInsufficientMemory: http.StatusTooManyRequests,
	host.CodeInternal:           http.StatusInternalServerError,
}

// ServeHTTP answers one delivery; see HTTP.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > h.cfg.maxBodyBytes {
		h.fail(w, r, headerEvent(r), host.CodeTooLarge, h.bodyTooLarge())
		return
	}
	if !h.gate.Enter() {
		cause := fmt.Errorf("%d requests in flight", h.cfg.maxInFlight)
		if h.gate.IsClosing() {
			cause = ErrClosing
		}
		h.fail(w, r, headerEvent(r), host.CodeBusy, cause)
		return
	}
	defer h.gate.Leave()

	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.maxBodyBytes)
	in, err := wire.DecodeEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.fail(w, r, headerEvent(r), host.CodeTooLarge, h.bodyTooLarge())
			return
		}
		h.fail(w, r, in, host.CodeInvalidInput, err)
		return
	}
	// The invocation ends with the transport (Shutdown) or the client.
	ctx, cancel := context.WithCancel(h.gate.Life)
	defer cancel()
	defer context.AfterFunc(r.Context(), cancel)()
	out, f := h.p.AnswerAs(ctx, in, preferred(r.Header.Get("Accept")))
	h.write(w, r, out, f)
}

// preferred is the media type an Accept header prefers most: the first of
// those with the highest quality ("" for none, or a wildcard). Only the
// first choice counts, so a browser's "text/html,application/xhtml+xml,…"
// still gets JSON rather than the hOCR that application/xhtml+xml names.
func preferred(accept string) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	if strings.Contains(best, "*") {
		return ""
	}
	return best
}

func (h *HTTP) bodyTooLarge() error {
	return fmt.Errorf("request body over %d bytes", h.cfg.maxBodyBytes)
}

// headerEvent reads what a binary-mode request says about itself in its
// headers, so that a refusal sent without reading the body can still name it.
func headerEvent(r *http.Request) *event.Event {
	e := event.New()
	e.SetID(r.Header.Get("Ce-Id"))
	e.SetSubject(r.Header.Get("Ce-Subject"))
	return &e
}

func (h *HTTP) fail(w http.ResponseWriter, r *http.Request, in *event.Event, code host.Code, err error) {
	f := host.Fail(code, err)
	h.write(w, r, h.p.FailureEvent(in, f), f)
}

func (h *HTTP) write(w http.ResponseWriter, r *http.Request, out event.Event, f *host.Failure) {
	status := http.StatusOK
	if f != nil {
		var ok bool
		if status, ok = statusOf[f.Code]; !ok {
			status = http.StatusInternalServerError
		}
		if f.Code.Retryable() {
			w.Header().Set("Retry-After", h.retryAfter)
		}
	}
	if err := cehttp.WriteResponseWriter(r.Context(), binding.ToMessage(&out), status, w); err != nil {
		h.cfg.log.Error("events: answer not sent", "requestid", out.Extensions()[ExtRequestID], "err", err)
	}
}

// Shutdown stops admitting requests (later ones are answered busy, 429),
// waits for those in flight until ctx ends, then cancels the rest and
// returns once they are answered, with ErrDrainIncomplete.
func (h *HTTP) Shutdown(ctx context.Context) error { return h.gate.Close(ctx) }
