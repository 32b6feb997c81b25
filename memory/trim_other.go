//go:build !linux || !cgo

package memory

// mallocTrim has nothing to do without glibc reachable through cgo.
func mallocTrim() {}
