package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// MediaObjectRef is the datacontenttype of event data that names an object
// in a JetStream Object Store instead of carrying it: a request's document
// (ObjectRef in DefaultPayloadBucket) or a job's large result (in
// DefaultResultBucket).
const MediaObjectRef = "application/vnd.ocrhost.object+json"

const (
	// payloadHeadroom is kept free under the server's max payload for the
	// event's headers, so that a document measured against it still fits.
	payloadHeadroom = 8 << 10
	// maxChunk is nats.go's default Object Store chunk; chunks are made
	// smaller when the server's max payload is.
	maxChunk = 128 << 10
	// cleanupTimeout bounds the deletion of an object once its request is
	// answered, whatever the request's own context.
	cleanupTimeout = 5 * time.Second
)

var (
	// ErrObjectRef: object reference data that is not a valid ObjectRef.
	ErrObjectRef = errors.New("invalid object reference")
	// ErrObjectNotFound: a referenced object does not exist (never
	// uploaded, expired, or already deleted).
	ErrObjectNotFound = errors.New("referenced object not found")
	// ErrNoObjectStore: a document too large for a message and no
	// JetStream to upload it to.
	ErrNoObjectStore = errors.New("document exceeds the max payload and there is no object store to upload it to")
)

// ObjectRef is the data of a MediaObjectRef event.
type ObjectRef struct {
	Bucket string `json:"bucket"`
	Name   string `json:"name"`
	// ContentType is the document's format ("" lets the host sniff it).
	ContentType string `json:"content_type,omitempty"`
	// Options are the per-call options of a request, as in the JSON form.
	Options json.RawMessage `json:"options,omitempty"`
}

// parseObjectRef reads MediaObjectRef data strictly: a reference with a
// typo must not silently lose its options.
func parseObjectRef(data []byte) (*ObjectRef, error) {
	var ref ObjectRef
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ref); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrObjectRef, err)
	}
	if ref.Bucket == "" || ref.Name == "" {
		return nil, fmt.Errorf("%w: bucket and name are required", ErrObjectRef)
	}
	return &ref, nil
}

// Fetch reads the object that data, MediaObjectRef data, refers to, and
// deletes it once read when remove is set (an answer with one reader).
func Fetch(ctx context.Context, js jetstream.JetStream, data []byte, remove bool) (*ObjectRef, []byte, error) {
	ref, err := parseObjectRef(data)
	if err != nil {
		return nil, nil, err
	}
	obs, err := js.ObjectStore(ctx, ref.Bucket)
	if err != nil {
		return nil, nil, fmt.Errorf("object store %q: %w", ref.Bucket, err)
	}
	b, err := obs.GetBytes(ctx, ref.Name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, nil, fmt.Errorf("%w: %q in bucket %q", ErrObjectNotFound, ref.Name, ref.Bucket)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading object %q: %w", ref.Name, err)
	}
	if remove {
		_ = obs.Delete(context.WithoutCancel(ctx), ref.Name) // the bucket's TTL is the fallback
	}
	return ref, b, nil
}

// PayloadStore keeps documents too large for a NATS message in an Object
// Store bucket, and resolves requests that reference them.
type PayloadStore struct {
	obs    jetstream.ObjectStore
	bucket string
}

// OpenPayloadStore creates or updates the payload bucket (WithPayloadBucket,
// WithPayloadTTL) and returns the store.
func OpenPayloadStore(ctx context.Context, js jetstream.JetStream, opts ...StoreOption) (*PayloadStore, error) {
	cfg, err := storeOptions(opts)
	if err != nil {
		return nil, err
	}
	return openPayloadStore(ctx, js, cfg)
}

func openPayloadStore(ctx context.Context, js jetstream.JetStream, cfg storeConfig) (*PayloadStore, error) {
	obs, err := provision(ctx, func(ctx context.Context) (jetstream.ObjectStore, error) {
		return js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      cfg.payloadBucket,
			Description: "ocrhost: documents too large for a message",
			TTL:         cfg.payloadTTL,
			Replicas:    cfg.replicas,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("object store %q: %w", cfg.payloadBucket, err)
	}
	return &PayloadStore{obs: obs, bucket: cfg.payloadBucket}, nil
}

// Invoker returns inv behind a resolver: a request whose content type is
// MediaObjectRef gets the referenced document (and the reference's
// content type and options) before inv sees it. A reference to another
// bucket, or to a missing object, fails with invalid_input; an object over
// wire.DefaultMaxBodyBytes with too_large. Other requests pass unchanged. Wrap
// the host with it for the NATS transport (events.StartNATS) to serve
// large documents sent by reference; Start does so itself.
func (p *PayloadStore) Invoker(inv Invoker) Invoker { return &resolvingInvoker{p: p, inv: inv} }

type resolvingInvoker struct {
	p   *PayloadStore
	inv Invoker
}

func (r *resolvingInvoker) Invoke(ctx context.Context, req *host.Request) (*host.Response, error) {
	if req.ContentType != MediaObjectRef {
		return r.inv.Invoke(ctx, req)
	}
	resolved, err := r.p.resolve(ctx, req)
	if err != nil {
		return nil, err
	}
	return r.inv.Invoke(ctx, resolved)
}

// resolve returns req with the referenced document in place of the
// reference, or a *host.Failure.
func (p *PayloadStore) resolve(ctx context.Context, req *host.Request) (*host.Request, error) {
	ref, err := parseObjectRef(req.Data)
	if err != nil {
		return nil, host.Fail(host.CodeInvalidInput, err)
	}
	if ref.Bucket != p.bucket {
		return nil, host.Fail(host.CodeInvalidInput,
			fmt.Errorf("%w: bucket %q, only %q is served", ErrObjectRef, ref.Bucket, p.bucket))
	}
	ct, err := wire.MediaType(ref.ContentType)
	if err != nil {
		return nil, host.Fail(host.CodeInvalidInput, err)
	}
	if ct == MediaObjectRef || ct == wire.MediaJSON {
		return nil, host.Fail(host.CodeInvalidInput,
			fmt.Errorf("%w: content_type %q is not a document format", ErrObjectRef, ref.ContentType))
	}
	obj, err := p.obs.Get(ctx, ref.Name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, host.Fail(host.CodeInvalidInput, fmt.Errorf("%w: %q in bucket %q (never uploaded, expired after the bucket's TTL, or already used)",
			ErrObjectNotFound, ref.Name, ref.Bucket))
	}
	if err != nil {
		return nil, host.Fail(host.CodeInternal, fmt.Errorf("reading object %q: %w", ref.Name, err))
	}
	defer obj.Close()
	info, err := obj.Info()
	if err != nil {
		return nil, host.Fail(host.CodeInternal, fmt.Errorf("reading object %q: %w", ref.Name, err))
	}
	if info.Size > wire.DefaultMaxBodyBytes {
		return nil, host.Fail(host.CodeTooLarge, fmt.Errorf("object %q has %d bytes, at most %d are accepted",
			ref.Name, info.Size, wire.DefaultMaxBodyBytes))
	}
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, host.Fail(host.CodeInternal, fmt.Errorf("reading object %q: %w", ref.Name, err))
	}
	if ct == "" && info.Headers != nil {
		// The uploader's content type, when the reference names none.
		if ct, err = wire.MediaType(info.Headers.Get(wire.HeaderContentType)); err != nil {
			return nil, host.Fail(host.CodeInvalidInput, err)
		}
	}
	out := *req
	out.Data, out.ContentType = data, ct
	if len(ref.Options) > 0 {
		out.Options = ref.Options
	}
	return &out, nil
}

// remove deletes the object a finished request referenced; one in another
// bucket was never ours to touch.
func (p *PayloadStore) remove(ref *ObjectRef) error {
	if ref == nil || ref.Bucket != p.bucket {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := p.obs.Delete(ctx, ref.Name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("deleting object %q: %w", ref.Name, err)
	}
	return nil
}

// refOf returns the object reference a request event carries, if any.
func refOf(in *event.Event) *ObjectRef {
	if mt, _ := wire.MediaType(in.DataContentType()); mt != MediaObjectRef && mt != wire.MediaJSON {
		return nil
	}
	req, err := wire.RequestFrom(in)
	if err != nil || req.ContentType != MediaObjectRef {
		return nil
	}
	ref, err := parseObjectRef(req.Data)
	if err != nil {
		return nil
	}
	return ref
}

// upload puts doc into the payload bucket (created with cfg's TTL when
// missing) under name, in chunks that fit the server's max payload.
func upload(ctx context.Context, js jetstream.JetStream, cfg storeConfig, name string, doc []byte, contentType string) (*ObjectRef, error) {
	obs, err := js.ObjectStore(ctx, cfg.payloadBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: cfg.payloadBucket, TTL: cfg.payloadTTL, Replicas: cfg.replicas})
		if errors.Is(err, jetstream.ErrBucketExists) { // a worker made it meanwhile
			obs, err = js.ObjectStore(ctx, cfg.payloadBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("object store %q: %w", cfg.payloadBucket, err)
	}
	meta := jetstream.ObjectMeta{
		Name:    name,
		Headers: nats.Header{},
		Opts:    &jetstream.ObjectMetaOptions{ChunkSize: chunkSize(js.Conn().MaxPayload())},
	}
	if contentType != "" {
		meta.Headers.Set(wire.HeaderContentType, contentType)
	}
	if _, err := obs.Put(ctx, meta, bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("uploading %d bytes to %q: %w", len(doc), cfg.payloadBucket, err)
	}
	return &ObjectRef{Bucket: cfg.payloadBucket, Name: name, ContentType: contentType}, nil
}

func chunkSize(maxPayload int64) uint32 {
	return uint32(max(min(maxChunk, maxPayload-payloadHeadroom), 1<<10))
}
