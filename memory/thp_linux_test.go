package memory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDisableTHP reads the mode from fixture files: "madvise" leaves the
// process alone, "always" turns huge pages off for it, which the kernel
// then reports in /proc/self/status.
func TestDisableTHP(t *testing.T) {
	dir := t.TempDir()
	mode := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, f := range []string{mode("madvise", "always [madvise] never\n"), mode("never", "always madvise [never]\n"), filepath.Join(dir, "absent")} {
		if off, err := disableTHP(f); off || err != nil {
			t.Errorf("%s: disableTHP = %v, %v; want false, nil", filepath.Base(f), off, err)
		}
	}
	off, err := disableTHP(mode("always", "[always] madvise never\n"))
	if err != nil || !off {
		t.Fatalf("always: disableTHP = %v, %v; want true, nil", off, err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "THP_enabled:"); ok {
			if strings.TrimSpace(v) != "0" {
				t.Errorf("after disableTHP the kernel reports %q", line)
			}
			return
		}
	}
	t.Log("this kernel does not report THP_enabled in /proc/self/status; prctl succeeded")
}
