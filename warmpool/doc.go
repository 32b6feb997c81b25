// Package warmpool keeps loaded models warm between invocations: loaded
// lazily, shared by reference count, evicted when idle or under memory
// pressure. How many invocations run at once is the caller's admission
// (the host's prediction slots), not the pool's.
//
// It is generic over the loaded value T (an ONNX Runtime session, say) so it
// depends on no inference runtime; the caller supplies a LoadFunc and a
// DestroyFunc.
//
// # Lifecycle of a model
//
// A model is identified by a Key (model name and device). Its life runs:
//
//  1. Lazy load. The first Acquire that needs a key starts its LoadFunc. Every
//     Acquire that arrives while that load runs waits for the same call
//     (singleflight), so N concurrent first requests cause one load. A failed
//     load is reported to every waiter and nothing is cached: the next Acquire
//     loads again.
//  2. Reference count. Each lease holding the model counts one reference.
//  3. Idle timer. When the count drops to zero a timer (WithIdleTimeout,
//     default 300 s) starts. Acquiring the model again stops it; a timer that
//     fires late is ignored through a generation counter, so a model in use is
//     never destroyed. No key is exempt.
//  4. Destroy. When the timer fires, or EvictIdle picks the model under memory
//     pressure (least recently used first), or at Teardown, the DestroyFunc
//     runs. A new load of the same key waits until that destroy has returned,
//     so at most one live value exists per key.
//
// # Leases
//
// A Lease is what one invocation needs (e.g. det+cls+rec) on one device.
// Acquire takes a reference on each model and waits for their loads; its
// references are returned on every failure path: load error, cancelled
// context, Teardown. The observer hears the leases held per device.
//
// # Loads run detached
//
// A load runs in its own goroutine under a context that keeps the first
// caller's values but not its cancellation: one caller giving up must not
// abort a load others wait for. If every waiter leaves, the loaded value is
// still owned by the pool and goes idle with its timer. The load context is
// bounded by WithLoadTimeout (default 5 min) and cancelled by Teardown, so a
// loader that honours its context cannot keep a key loading forever. A loader
// that ignores it (a cgo call, say) keeps only that key's waiters waiting, and
// each of them still leaves at its own deadline.
//
// # Teardown
//
// Teardown refuses new Acquires with ErrClosed, cancels running loads (an
// Acquire waiting for one fails), destroys idle models at once and destroys each leased model
// when its last lease is released. It returns when every model is destroyed,
// with the joined destroy errors, or when its context ends.
package warmpool
