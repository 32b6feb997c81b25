package events

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
// DefaultMaxBodyBytes with too_large. Other requests pass unchanged. Wrap
// the host with it for StartNATS to serve RequestAuto; StartJetStream
// does so itself.
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
	ct, err := mediaType(ref.ContentType)
	if err != nil {
		return nil, host.Fail(host.CodeInvalidInput, err)
	}
	if ct == MediaObjectRef || ct == mediaJSON {
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
	if info.Size > DefaultMaxBodyBytes {
		return nil, host.Fail(host.CodeTooLarge, fmt.Errorf("object %q has %d bytes, at most %d are accepted",
			ref.Name, info.Size, DefaultMaxBodyBytes))
	}
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, host.Fail(host.CodeInternal, fmt.Errorf("reading object %q: %w", ref.Name, err))
	}
	if ct == "" && info.Headers != nil {
		// The uploader's content type, when the reference names none.
		if ct, err = mediaType(info.Headers.Get(natsContentType)); err != nil {
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
	if mt, _ := mediaType(in.DataContentType()); mt != MediaObjectRef && mt != mediaJSON {
		return nil
	}
	req, err := requestFrom(in)
	if err != nil || req.ContentType != MediaObjectRef {
		return nil
	}
	ref, err := parseObjectRef(req.Data)
	if err != nil {
		return nil
	}
	return ref
}

// fitsInline reports whether a request with doc and options fits a message
// of at most maxPayload bytes, headers included.
func fitsInline(maxPayload int64, doc []byte, options json.RawMessage) bool {
	size := int64(len(doc))
	if len(options) > 0 {
		// The JSON form: base64 document, content type, options.
		size = int64(base64.StdEncoding.EncodedLen(len(doc)) + len(options) + 256)
	}
	return size <= maxPayload-payloadHeadroom
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
		meta.Headers.Set(natsContentType, contentType)
	}
	if _, err := obs.Put(ctx, meta, bytes.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("uploading %d bytes to %q: %w", len(doc), cfg.payloadBucket, err)
	}
	return &ObjectRef{Bucket: cfg.payloadBucket, Name: name, ContentType: contentType}, nil
}

func chunkSize(maxPayload int64) uint32 {
	return uint32(max(min(maxChunk, maxPayload-payloadHeadroom), 1<<10))
}

// deleteUploaded removes an object upload put, once its request is
// answered; the bucket's TTL is the fallback when that fails.
func deleteUploaded(js jetstream.JetStream, ref *ObjectRef) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if obs, err := js.ObjectStore(ctx, ref.Bucket); err == nil {
		_ = obs.Delete(ctx, ref.Name)
	}
}

// newRequestEvent builds a request event as Request sends it.
func newRequestEvent(id string, doc []byte, contentType string, options json.RawMessage) (event.Event, error) {
	e := event.New()
	e.SetID(id)
	e.SetSource(ClientSource)
	e.SetType(TypeRequest)
	e.SetTime(time.Now())
	if len(options) == 0 {
		if contentType == "" {
			contentType = mediaBinary
		}
		e.SetDataContentType(contentType)
		e.DataEncoded = doc
		return e, nil
	}
	data, err := json.Marshal(requestEnvelope{Data: doc, ContentType: contentType, Options: options})
	if err != nil {
		return e, fmt.Errorf("%w: options: %w", ErrInvalidData, err)
	}
	e.SetDataContentType(mediaJSON)
	e.DataEncoded = data
	return e, nil
}

// outgoing is a request's data as it goes out: the document itself, or,
// when it is too large for the connection's max payload, a reference to
// it in the payload bucket (ref, for the caller to delete when done, nil
// otherwise).
type outgoing struct {
	data        []byte
	contentType string
	options     json.RawMessage
	ref         *ObjectRef
}

// prepare decides between sending doc inline and uploading it under name,
// the one place that choice is made for Request, RequestWithProgress and
// SubmitJob. js may be nil when doc surely fits.
func prepare(ctx context.Context, maxPayload int64, js jetstream.JetStream, opts []StoreOption, name string, doc []byte, contentType string, options json.RawMessage) (outgoing, error) {
	if fitsInline(maxPayload, doc, options) {
		return outgoing{data: doc, contentType: contentType, options: options}, nil
	}
	cfg, err := storeOptions(opts)
	if err != nil {
		return outgoing{}, err
	}
	if js == nil || cfg.tenant {
		return outgoing{}, fmt.Errorf("%w: %d bytes", ErrNoObjectStore, len(doc))
	}
	ref, err := upload(ctx, js, cfg, name, doc, contentType)
	if err != nil {
		return outgoing{}, err
	}
	withOptions := *ref
	withOptions.Options = options
	data, err := json.Marshal(withOptions)
	if err != nil {
		deleteUploaded(js, ref)
		return outgoing{}, fmt.Errorf("%w: options: %w", ErrInvalidData, err)
	}
	return outgoing{data: data, contentType: MediaObjectRef, ref: ref}, nil
}

// SubmitJob queues doc as a job on subject (one of the work-queue stream's
// subjects, e.g. "ocr.jobs.scan") and returns its task id, the request
// event's id. Without options the event's data is doc with contentType;
// with options it is the JSON form. A document too large for the
// connection's max payload (less headroom for headers) is uploaded to the
// payload bucket first and the event carries an ObjectRef; the worker
// deletes the object once the task is final. When the task bucket exists
// the task is recorded as pending before it is queued, so that it can be
// queried and cancelled at once. The event carries Nats-Msg-Id = task id,
// so JetStream drops a duplicate publish within the stream's window.
func SubmitJob(ctx context.Context, js jetstream.JetStream, subject string, doc []byte, contentType string, options json.RawMessage, opts ...StoreOption) (string, error) {
	cfg, err := storeOptions(opts)
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	out, err := prepare(ctx, js.Conn().MaxPayload(), js, opts, id, doc, contentType, options)
	if err != nil {
		return "", err
	}
	e, err := newRequestEvent(id, out.data, out.contentType, out.options)
	if err != nil {
		return "", err
	}
	msg, err := encodeNATS(ctx, &e, false)
	if err != nil {
		return "", fmt.Errorf("encoding job: %w", err)
	}
	msg.Subject = subject
	if cfg.owner != "" {
		msg.Header.Set(HeaderOwner, cfg.owner)
	}
	var kv jetstream.KeyValue
	if !cfg.tenant {
		kv, err = js.KeyValue(ctx, cfg.taskBucket)
	}
	recorded := kv != nil
	switch {
	case cfg.tenant:
	case recorded:
		if err := recordPending(ctx, kv, id, subject, cfg.owner); err != nil {
			return "", err
		}
	case !errors.Is(err, jetstream.ErrBucketNotFound):
		return "", fmt.Errorf("task bucket %q: %w", cfg.taskBucket, err)
	}
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		if recorded && errors.Is(err, jetstream.ErrNoStreamResponse) {
			// No stream takes the subject: the job surely was not queued.
			_ = kv.Purge(context.WithoutCancel(ctx), taskRef{cfg.owner, id}.key())
		}
		return "", fmt.Errorf("submitting job %s on %q: %w", id, subject, err)
	}
	return id, nil
}

// RequestAuto is Request for documents of any size: one too large for the
// connection's max payload (less headroom for headers) is uploaded to the
// payload bucket of js, sent as an ObjectRef, and deleted once answered.
// The server must resolve references (PayloadStore.Invoker). js may be nil
// when doc surely fits.
func RequestAuto(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, subject string, doc []byte, contentType string, options json.RawMessage, opts ...StoreOption) (*host.Response, error) {
	out, err := prepare(ctx, nc.MaxPayload(), js, opts, uuid.NewString(), doc, contentType, options)
	if err != nil {
		return nil, err
	}
	if out.ref != nil {
		defer deleteUploaded(js, out.ref)
	}
	return Request(ctx, nc, subject, out.data, out.contentType, out.options)
}
