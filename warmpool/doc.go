// Package warmpool keeps loaded models warm between invocations and bounds how
// many invocations use a device at once.
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
// # Lease slots
//
// A Lease is what one invocation needs (e.g. det+cls+rec) on one device. Each
// device has WithMaxLeasesPerDevice slots (default 2). Acquire reserves a slot
// before loading anything, so a device never has more leases doing work (or
// loading) than slots. When all slots are taken, Acquire waits in a FIFO queue
// for up to WithQueueTimeout (default 60 s) or the context's deadline, then
// fails with ErrBusy. A slot and its references are returned on every failure
// path: load error, cancelled context, Teardown.
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
// Teardown refuses new Acquires with ErrClosed, fails queued ones, cancels
// running loads, destroys idle models at once and destroys each leased model
// when its last lease is released. It returns when every model is destroyed,
// with the joined destroy errors, or when its context ends.
package warmpool
