package memory

import "syscall"

// pageOut zaps the range's page table entries (MADV_DONTNEED). The
// addresses come from /proc/self/maps, not Go pointers, so the raw system
// call needs no unsafe conversion. MADV_PAGEOUT would be the gentler
// advice, but the kernel skips file pages that other processes may map.
func pageOut(addr, length uintptr) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, length, syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
