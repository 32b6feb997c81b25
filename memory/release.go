package memory

import (
	"runtime/debug"
	"sync"
)

// Release returns freed memory to the OS and reports how much the RSS fell
// (0 if it did not). debug.FreeOSMemory covers the Go heap; malloc_trim
// covers glibc's heap, where ONNX Runtime's freed sessions stay resident
// because Go's scavenger never sees C allocations. It runs a full GC, so call
// it after evictions, not per request.
func Release() uint64 {
	before, _ := readStatus("/proc")
	debug.FreeOSMemory()
	mallocTrim()
	after, _ := readStatus("/proc")
	if after.rss >= before.rss {
		return 0
	}
	return before.rss - after.rss
}

// TuneAllocator sets the C allocator up for a process that loads and
// unloads large models: at most 2 malloc arenas and a fixed 256 KiB mmap
// threshold, so freed tensors and sessions go back to the OS instead of
// staying in glibc's heaps (docs/memory.md, has the figures). It is
// process-wide and applied once; every call reports whether glibc accepted it.
var TuneAllocator = sync.OnceValue(func() bool { return tuneMalloc(2, 256<<10) })

// DisableTHP turns transparent huge pages off for this process when the
// system gives them to every mapping ("always"; under "madvise" nothing
// here asks for them), and reports whether it did. A huge page stays
// resident until all of its 2 MiB is free, and khugepaged collapses again
// what malloc_trim and Go's scavenger gave back: with "always", RSS after
// evicting every model was 1.03–1.23× a fresh host's, and 0.94–1.01× with
// huge pages off, with no measurable change in inference time
// (docs/memory.md). Applied once per process.
var DisableTHP = sync.OnceValues(func() (bool, error) { return disableTHP(thpModeFile) })
