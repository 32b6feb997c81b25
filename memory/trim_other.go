//go:build !linux || !cgo

package memory

// mallocTrim has nothing to do without glibc reachable through cgo.
func mallocTrim() {}

func tuneMalloc(int, int) bool { return false }
