// Package events carries OCR requests and answers as CloudEvents 1.0 over
// NATS and HTTP, and hands each request to an Invoker (the host).
//
// # Requests
//
// Any event type is a request (clients should use TypeRequest) except the
// answer types TypeResult and TypeFailure, which are refused with
// invalid_input so that a misrouted answer cannot start a loop. The required
// attributes id, source, type and specversion ("1.0") must be present. The
// data takes one of two forms, chosen by datacontenttype:
//
//   - The document itself: image/png, image/jpeg, image/tiff, image/bmp,
//     image/webp, image/gif or application/x-npy name its format;
//     application/octet-stream or no datacontenttype lets the host sniff it.
//     Other types are passed on for the host to refuse (unsupported_format).
//   - application/json: {"data": "<standard base64>", "content_type":
//     "image/png", "options": {...}}. content_type and options are optional;
//     options stay raw JSON for the host to validate. Any other member
//     ("url", ...) is invalid_input.
//
// A message that is no CloudEvent, lacks a required attribute, has another
// specversion, empty data, bad base64 or bad JSON is answered with a failure
// of code invalid_input.
//
// # Answers
//
// Every request gets one answer event: TypeResult with the JSON of
// host.Response as data, or TypeFailure with FailureData, e.g.
//
//	{"code":"busy","message":"8 requests in flight","retryable":true,"request_id":"a1"}
//
// An answer has a new id, source "/ocrhost" (WithSource), the request's
// subject, the extension attribute requestid holding the request's id, and
// datacontenttype application/json. result.schema.json in this directory is
// the JSON Schema (draft 2020-12) of both data forms.
//
// # NATS
//
// StartNATS queue-subscribes (group "ocrhost") to "ocr.requests". Requests
// come in binary mode (attributes as "ce-" headers, datacontenttype as
// "content-type", data as the body) or structured mode (a JSON event, with
// content-type application/cloudevents+json or none). A request with a
// reply inbox is answered there, one without on "ocr.results"; the answer
// is in binary mode, or structured when the request was. At most
// WithMaxInFlight (8) requests run at once; beyond that, busy is answered
// at once. An answer-typed event without a reply inbox is dropped unanswered.
//
//	nc, _ := nats.Connect(nats.DefaultURL)
//	srv, err := events.StartNATS(nc, inv, events.WithMaxInFlight(2))
//	...
//	err = srv.Close(ctx) // drains, then waits for in-flight requests
//
// A Client sends a document with Request (binary mode; the JSON form when
// options are given) and gets the decoded result or a *host.Failure. With
// WithJetStream it uploads documents too large for a message and queues
// durable jobs (Submit, see package events/jobs):
//
//	client := events.NewClient(nc)
//	resp, err := client.Request(ctx, events.DefaultRequestSubject, events.Document{Data: png, ContentType: "image/png"})
//	var f *host.Failure
//	if errors.As(err, &f) && f.Code.Retryable() { /* try again later */ }
//
// # HTTP
//
// HTTP is an http.Handler for Knative trigger delivery: POST / with a binary
// or structured event; other methods get 405, other paths 404. The answer is
// the event in binary mode with status 200 for a result, or for a failure:
// invalid_input 400, unsupported_format 415, too_large 413 (also bodies over
// WithMaxBodyBytes, 64 MiB), busy and insufficient_memory 429 with
// Retry-After (WithRetryAfter, 1 s), internal 500. Knative takes a non-2xx
// answer as a failed delivery (retry, dead-letter sink), not as a reply to
// publish, so failures do not re-enter the broker.
//
//	h, err := events.NewHTTP(inv, events.WithMaxBodyBytes(16<<20))
//	mux.Handle("/", h)
//	...
//	err = h.Shutdown(ctx) // refuses new requests (429), waits for the rest
//
// # Draining
//
// Close and Shutdown stop taking work and wait for the invocations in flight
// until their context ends. Invocation contexts derive from the transport's
// lifetime, so the stragglers are then cancelled; the host answers them
// busy, and Close/Shutdown return, with ErrDrainIncomplete, once every one
// is answered.
package events
