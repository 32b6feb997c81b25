package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/eventstest"
	"github.com/ocrhost/ocrhost/internal/natsd"
)

// replicasNotSupported is the JetStream error code of a stream asking a
// server outside a cluster for more than one replica.
const replicasNotSupported = 10074

func TestReplicasOption(t *testing.T) {
	t.Run("out of range", func(t *testing.T) {
		for _, n := range []int{0, -1, MaxReplicas + 1} {
			opt := WithReplicas(n)
			if _, err := Start(context.Background(), nil, newScriptHost(nil), opt); !errors.Is(err, ErrInvalidOption) {
				t.Errorf("Start, %d replicas: %v, want ErrInvalidOption", n, err)
			}
			if _, err := OpenTaskStore(context.Background(), nil, opt); !errors.Is(err, ErrInvalidOption) {
				t.Errorf("OpenTaskStore, %d replicas: %v, want ErrInvalidOption", n, err)
			}
			if _, err := OpenPayloadStore(context.Background(), nil, opt); !errors.Is(err, ErrInvalidOption) {
				t.Errorf("OpenPayloadStore, %d replicas: %v, want ErrInvalidOption", n, err)
			}
			// A max payload of 0 makes any document one to upload.
			if _, err := PreparePayload(context.Background(), nil, 0, "x", eventstest.PNG, "", nil, opt); !errors.Is(err, ErrInvalidOption) {
				t.Errorf("PreparePayload, %d replicas: %v, want ErrInvalidOption", n, err)
			}
			if err := Queue(context.Background(), nil, nats.NewMsg(jobSubject), "x", opt); !errors.Is(err, ErrInvalidOption) {
				t.Errorf("Queue, %d replicas: %v, want ErrInvalidOption", n, err)
			}
		}
	})

	// A single server refuses more than one replica: each stream and
	// bucket that is created asks for them.
	s := jsServer(t, natsd.WithMaxPayload(eventstest.SmallPayload))
	_, js := jsConn(t, s)
	ctx := eventstest.Ctx(t)
	refused := func(what string, err error, name string) {
		t.Helper()
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != replicasNotSupported || !strings.Contains(err.Error(), name) {
			t.Errorf("%s with 3 replicas on one server: %v, want error %d naming %q", what, err, replicasNotSupported, name)
		}
	}
	three := WithReplicas(3)
	_, err := Start(ctx, js, newScriptHost(nil), three)
	refused("Start", err, DefaultStream)
	_, err = OpenTaskStore(ctx, js, three)
	refused("OpenTaskStore", err, DefaultTaskBucket)
	_, err = OpenPayloadStore(ctx, js, three)
	refused("OpenPayloadStore", err, DefaultPayloadBucket)
	// A document over the max payload makes PreparePayload create the bucket.
	_, err = submitJob(ctx, js, jobSubject, eventstest.BigDoc(), "image/png", nil, three)
	refused("PreparePayload", err, DefaultPayloadBucket)

	startJS(t, js, newScriptHost(nil), WithReplicas(1))
	for _, name := range []string{DefaultStream, DefaultDeadLetterStream, "KV_" + DefaultTaskBucket,
		"OBJ_" + DefaultResultBucket, "OBJ_" + DefaultPayloadBucket} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Errorf("stream %s: %v", name, err)
		} else if got := st.CachedInfo().Config.Replicas; got != 1 {
			t.Errorf("stream %s: %d replicas, want 1", name, got)
		}
	}
}

func TestProvisionRepeatsUnansweredRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		errs  []error // of the successive calls; nil after the last
		calls int
		err   error
	}{
		{"answered", nil, 1, nil},
		{"unanswered, then answered", []error{context.DeadlineExceeded, fmt.Errorf("wrapped: %w", nats.ErrTimeout)}, 3, nil},
		{"refused", []error{jetstream.ErrStreamNameAlreadyInUse}, 1, jetstream.ErrStreamNameAlreadyInUse},
		{"never answered", []error{context.DeadlineExceeded, context.DeadlineExceeded, context.DeadlineExceeded,
			context.DeadlineExceeded, context.DeadlineExceeded, context.DeadlineExceeded}, provisionAttempts, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			v, err := provision(context.Background(), func(ctx context.Context) (int, error) {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("attempt without a deadline")
				}
				calls++
				if calls <= len(tc.errs) {
					return 0, tc.errs[calls-1]
				}
				return 7, nil
			})
			if calls != tc.calls || !errors.Is(err, tc.err) || (err == nil && v != 7) {
				t.Errorf("%d calls, %v, %v; want %d calls, %v", calls, v, err, tc.calls, tc.err)
			}
		})
	}
	t.Run("caller gives up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		_, err := provision(ctx, func(context.Context) (int, error) {
			calls++
			cancel()
			return 0, context.DeadlineExceeded
		})
		if calls != 1 || err == nil {
			t.Errorf("%d calls, %v; want 1 call and its error", calls, err)
		}
	})
}
