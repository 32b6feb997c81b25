//go:build cgo

package memory

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static void ocrhost_malloc_trim(void) { malloc_trim(0); }
#else
// musl and other libcs return freed memory eagerly and have no malloc_trim.
static void ocrhost_malloc_trim(void) {}
#endif
*/
import "C"

func mallocTrim() { C.ocrhost_malloc_trim() }
