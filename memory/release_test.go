package memory

import (
	"os"
	"runtime"
	"runtime/debug"
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

func TestTuneGCHonoursTheEnvironment(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	if got := TuneGC(30); got != 30 || debug.SetGCPercent(30) != 30 {
		t.Errorf("no GOGC set: TuneGC(30) gave %d", got)
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // what the runtime read from GOGC at start
	if got := TuneGC(30); got != 150 || debug.SetGCPercent(150) != 150 {
		t.Errorf("GOGC=150 set: TuneGC(30) gave %d and changed the collector", got)
	}
}
