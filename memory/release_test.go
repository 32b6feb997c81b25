package memory

import (
	"runtime"
	"testing"
)

var sink []byte

func TestRelease(t *testing.T) {
	if raceEnabled {
		t.Skip("-race build: the race runtime returns about half of a dropped buffer's pages, varying by machine " +
			"state; make test runs this without -race")
	}
	const size = 256 << 20
	sink = make([]byte, size)
	for i := 0; i < len(sink); i += 4096 {
		sink[i] = 1 // fault every page in, so it counts in RSS
	}
	runtime.KeepAlive(sink)
	sink = nil
	// Nothing has collected the buffer yet: only Release's GC and return to
	// the OS can bring RSS down.
	released := Release()
	if released < size/2 {
		t.Fatalf("Release freed %s after dropping %s", FormatBytes(released), FormatBytes(size))
	}
	t.Logf("released %s", FormatBytes(released))
	// With nothing left to free, a second call releases little; it must
	// still run (malloc_trim included) and not report a rise as a release.
	if again := Release(); again > size/4 {
		t.Fatalf("second Release freed %s", FormatBytes(again))
	}
}
