package memory

import "runtime/debug"

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
