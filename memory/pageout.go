package memory

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// mapping is one line of /proc/self/maps: an address range and its file.
type mapping struct {
	start, end uint64
	path       string
}

// codeMappings parses a maps file and returns the ranges that map path
// read-only and executable: the library's code, which the process never
// writes, so that dropping a page loses nothing.
func codeMappings(maps []byte, path string) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// address perms offset dev inode [path]; the path may hold spaces.
		f := strings.SplitN(sc.Text(), " ", 6)
		if len(f) < 6 || f[1] != "r-xp" || strings.TrimSpace(f[5]) != path {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("%w: maps line %q", ErrProc, sc.Text())
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("%w: maps line %q", ErrProc, sc.Text())
		}
		out = append(out, mapping{start, end, path})
	}
	return out, sc.Err()
}

// PageOut drops the resident pages of the code of the shared library at
// path from the process and reports how many bytes of mappings it covered.
// Once every model is unloaded the library code inference touched (about
// 13 MB for ONNX Runtime) serves no one, yet stays in the RSS. Only
// read-only executable private mappings are touched, whose pages are never
// written: the kernel maps them again from the page cache on their next use
// (a minor fault), so nothing is lost even if code runs meanwhile. Writable
// or relocated segments (.data, RELRO) are left alone, since dropping their
// pages would revert them to the file.
func PageOut(path string) (uint64, error) {
	if path == "" {
		return 0, nil
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProc, err)
	}
	ms, err := codeMappings(maps, path)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, m := range ms {
		if err := pageOut(uintptr(m.start), uintptr(m.end-m.start)); err != nil {
			return n, fmt.Errorf("memory: page out %s: %w", path, err)
		}
		n += m.end - m.start
	}
	return n, nil
}
