package memory

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrProc is returned when a required /proc file is missing or malformed.
var ErrProc = errors.New("memory: reading /proc")

// kbFields reads the "Key:   123 kB" lines of /proc/self/status or
// /proc/meminfo into the fields named in want, converting to bytes. Keys
// absent from the file leave their targets untouched. It is not
// prometheus/procfs: procfs reads a malformed value as 0, which the guard
// would take for "no memory used"; here it is ErrProc.
func kbFields(path string, want map[string]*uint64) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProc, err)
	}
	for line := range bytes.Lines(data) {
		key, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		dst, ok := want[string(key)]
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "kB") {
			return fmt.Errorf("%w: %s: malformed %s line %q", ErrProc, path, key, bytes.TrimSpace(line))
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %s: %s: %w", ErrProc, path, key, err)
		}
		if len(f) == 2 {
			v *= 1024
		}
		*dst = v
	}
	return nil
}

type procStatus struct{ rss, anon, file uint64 }

// readStatus reads the resident set of the calling process. RssAnon and
// RssFile (Linux 4.5+) stay 0 on kernels that lack them.
func readStatus(procRoot string) (procStatus, error) {
	var st procStatus
	rss := ^uint64(0)
	path := filepath.Join(procRoot, "self", "status")
	err := kbFields(path, map[string]*uint64{"VmRSS": &rss, "RssAnon": &st.anon, "RssFile": &st.file})
	if err != nil {
		return procStatus{}, err
	}
	if rss == ^uint64(0) {
		return procStatus{}, fmt.Errorf("%w: %s: no VmRSS line", ErrProc, path)
	}
	st.rss = rss
	return st, nil
}

// readMeminfo returns MemTotal and MemAvailable. Kernels before 3.14 have no
// MemAvailable; MemFree stands in for it there (an underestimate).
func readMeminfo(procRoot string) (total, available uint64, err error) {
	total, available = ^uint64(0), ^uint64(0)
	var free uint64
	path := filepath.Join(procRoot, "meminfo")
	err = kbFields(path, map[string]*uint64{"MemTotal": &total, "MemAvailable": &available, "MemFree": &free})
	if err != nil {
		return 0, 0, err
	}
	if total == ^uint64(0) || total == 0 {
		return 0, 0, fmt.Errorf("%w: %s: no MemTotal", ErrProc, path)
	}
	if available == ^uint64(0) {
		available = free
	}
	return total, available, nil
}
