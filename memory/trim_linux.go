//go:build cgo

package memory

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static void ocrhost_malloc_trim(void) { malloc_trim(0); }
static int ocrhost_mallopt(int arenas, int mmap_threshold) {
	return mallopt(M_ARENA_MAX, arenas) && mallopt(M_MMAP_THRESHOLD, mmap_threshold);
}
#else
// musl and other libcs return freed memory eagerly and have no malloc_trim.
static void ocrhost_malloc_trim(void) {}
static int ocrhost_mallopt(int arenas, int mmap_threshold) { return 1; }
#endif
*/
import "C"

func mallocTrim() { C.ocrhost_malloc_trim() }

// tuneMalloc caps glibc's per-thread arenas (ONNX Runtime allocates from
// many threads; each arena keeps what it freed) and fixes the mmap
// threshold, which glibc otherwise raises after every large free until
// tensors of tens of MiB come from the heap and stay resident.
func tuneMalloc(arenas, mmapThreshold int) bool {
	return C.ocrhost_mallopt(C.int(arenas), C.int(mmapThreshold)) == 1
}
