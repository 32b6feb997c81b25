package memory

import (
	"os"
	"testing"
)

func TestCodeMappings(t *testing.T) {
	maps := []byte(`55d0c0a00000-55d0c0a22000 r--p 00000000 fd:01 1234 /usr/bin/ocrhost
7f10a0000000-7f10a0400000 r--p 00000000 fd:01 99 /opt/lib dir/libonnxruntime.so.1
7f10a0400000-7f10a1800000 r-xp 00400000 fd:01 99 /opt/lib dir/libonnxruntime.so.1
7f10a1800000-7f10a1900000 r--p 01800000 fd:01 99 /opt/lib dir/libonnxruntime.so.1
7f10a1900000-7f10a1910000 rw-p 01900000 fd:01 99 /opt/lib dir/libonnxruntime.so.1
7f10a2000000-7f10a2100000 r-xp 00000000 fd:01 77 /opt/lib dir/libonnxruntime.so.10
7f10a3000000-7f10a3001000 rw-p 00000000 00:00 0
`)
	got, err := codeMappings(maps, "/opt/lib dir/libonnxruntime.so.1")
	if err != nil {
		t.Fatal(err)
	}
	// Only the executable segment of exactly that file: never the data or
	// relocated segments, whose pages dropping would revert to the file.
	if len(got) != 1 || got[0].start != 0x7f10a0400000 || got[0].end != 0x7f10a1800000 {
		t.Fatalf("got %+v", got)
	}
	if _, err := codeMappings([]byte("zz-yy r-xp 0 0:0 1 /x\n"), "/x"); err == nil {
		t.Error("a malformed range was accepted")
	}
}

// TestPageOutLowersRSS drops this test binary's own code pages, which the
// test run has touched, and checks that the file-backed RSS falls and that
// the code still runs afterwards.
func TestPageOutLowersRSS(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	var before, after uint64
	if err := kbFields("/proc/self/status", map[string]*uint64{"RssFile": &before}); err != nil {
		t.Fatal(err)
	}
	n, err := PageOut(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := kbFields("/proc/self/status", map[string]*uint64{"RssFile": &after}); err != nil {
		t.Fatal(err)
	}
	if n == 0 || after >= before {
		t.Errorf("paged out %d bytes of mappings; RssFile %d -> %d bytes", n, before, after)
	}
	if _, err := PageOut(""); err != nil {
		t.Error(err)
	}
}
