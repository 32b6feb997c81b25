package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Payload is a request's data as it goes out: the document itself, or,
// when it is too large for a message, a reference to it in the payload
// bucket.
type Payload struct {
	Data        []byte
	ContentType string
	Options     json.RawMessage // nil when they travel in the reference
	ref         *ObjectRef
	js          jetstream.JetStream
}

// Release deletes the uploaded document, if any, once its request is
// answered; the bucket's TTL is the fallback when that fails. A job's
// document is not released by its sender: the worker deletes it once the
// task is final.
func (p Payload) Release() {
	if p.ref == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if obs, err := p.js.ObjectStore(ctx, p.ref.Bucket); err == nil {
		_ = obs.Delete(ctx, p.ref.Name)
	}
}

// PreparePayload decides between sending doc inline and uploading it to
// the payload bucket under name: the one place that choice is made. A
// request fits inline when it fits a message of maxPayload bytes with room
// for its headers. js may be nil, and the StoreOptions say which bucket and
// whether the sender is a tenant (who may not upload).
func PreparePayload(ctx context.Context, js jetstream.JetStream, maxPayload int64, name string, doc []byte, contentType string, options json.RawMessage, opts ...StoreOption) (Payload, error) {
	if fitsInline(maxPayload, doc, options) {
		return Payload{Data: doc, ContentType: contentType, Options: options}, nil
	}
	cfg, err := storeOptions(opts)
	if err != nil {
		return Payload{}, err
	}
	if js == nil || cfg.tenant {
		return Payload{}, fmt.Errorf("%w: %d bytes", ErrNoObjectStore, len(doc))
	}
	ref, err := upload(ctx, js, cfg, name, doc, contentType)
	if err != nil {
		return Payload{}, err
	}
	p := Payload{ContentType: MediaObjectRef, ref: ref, js: js}
	withOptions := *ref
	withOptions.Options = options
	if p.Data, err = json.Marshal(withOptions); err != nil {
		p.Release()
		return Payload{}, fmt.Errorf("%w: options: %w", ErrInvalidOption, err)
	}
	return p, nil
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

// Queue publishes msg, a request event with id id, as a job on its subject
// (one of the work-queue stream's subjects). When the task bucket exists
// the task is recorded as pending first, so that it can be queried and
// cancelled at once; a tenant's sender records nothing (the bucket is the
// host's). The message carries Nats-Msg-Id = id, so JetStream drops a
// duplicate publish within the stream's window, and the Ocr-Owner header
// of WithOwner.
func Queue(ctx context.Context, js jetstream.JetStream, msg *nats.Msg, id string, opts ...StoreOption) error {
	cfg, err := storeOptions(opts)
	if err != nil {
		return err
	}
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
		if err := recordPending(ctx, kv, id, msg.Subject, cfg.owner); err != nil {
			return err
		}
	case !errors.Is(err, jetstream.ErrBucketNotFound):
		return fmt.Errorf("task bucket %q: %w", cfg.taskBucket, err)
	}
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		if recorded && errors.Is(err, jetstream.ErrNoStreamResponse) {
			// No stream takes the subject: the job surely was not queued.
			_ = kv.Purge(context.WithoutCancel(ctx), taskRef{cfg.owner, id}.key())
		}
		return fmt.Errorf("submitting job %s on %q: %w", id, msg.Subject, err)
	}
	return nil
}
