package memory

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrCgroup is returned when a cgroup v2 memory file exists but cannot be read
// or parsed.
var ErrCgroup = errors.New("memory: reading cgroup")

// Cgroup is the cgroup v2 memory state that bounds this process.
//
// Limits are inherited: a parent's memory.max caps all its descendants, so
// Max and High are the tightest values on the path from the process's cgroup
// up to the cgroup mount root, with 0 meaning "max" (no limit). Usage comes
// from the cgroup that holds the tightest limit (LimitPath), because that
// cgroup's usage, siblings included, is what the kernel compares with it.
type Cgroup struct {
	// Path is the directory of the process's own cgroup.
	Path string `json:"path"`
	// LimitPath is the directory whose memory.max or memory.high is the
	// tightest; it equals Path when no limit is set anywhere.
	LimitPath string `json:"limit_path"`
	Max       uint64 `json:"max"`
	High      uint64 `json:"high"`
	// Current is memory.current of LimitPath; it includes page cache.
	Current uint64 `json:"current"`
	// InactiveFile is memory.stat inactive_file of LimitPath: page cache the
	// kernel reclaims before it OOM-kills, e.g. model files read once.
	InactiveFile uint64 `json:"inactive_file"`
	// WorkingSet is Current − InactiveFile (clamped at 0), the figure
	// kubelet evicts on and `kubectl top` shows.
	WorkingSet uint64 `json:"working_set"`
	// Stat is memory.stat of LimitPath (empty when the file is absent).
	Stat map[string]uint64 `json:"stat"`
}

// Limit is the smaller of Max and High, ignoring unset ones; 0 means unlimited.
// memory.high is counted as a limit because the kernel throttles and reclaims
// hard above it, which for a latency-bound host is as bad as hitting max.
func (c *Cgroup) Limit() uint64 { return minNonZero(c.Max, c.High) }

func minNonZero(vs ...uint64) uint64 {
	var m uint64
	for _, v := range vs {
		if v != 0 && (m == 0 || v < m) {
			m = v
		}
	}
	return m
}

// readCgroup returns the cgroup v2 memory state of the process whose /proc is
// procRoot, with the unified hierarchy mounted at cgroupRoot.
//
// It returns nil, nil when there is nothing to measure: no /proc/self/cgroup,
// no "0::" line (cgroup v1 only), a v1 or hybrid host where the memory
// controller is not on the unified hierarchy (no memory.current in the
// process's cgroup), a root cgroup (which has no memory.current either), or a
// cgroup outside the visible mount.
func readCgroup(procRoot, cgroupRoot string) (*Cgroup, error) {
	rel, ok, err := cgroupPath(procRoot, cgroupRoot)
	if err != nil || !ok {
		return nil, err
	}
	leaf := filepath.Join(cgroupRoot, rel)
	if _, err := os.Stat(filepath.Join(leaf, "memory.current")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %w", ErrCgroup, err)
	}

	cg := &Cgroup{Path: leaf, LimitPath: leaf}
	var tightest uint64
	root := filepath.Clean(cgroupRoot)
	for dir := leaf; ; dir = filepath.Dir(dir) {
		maxV, err := readLimit(filepath.Join(dir, "memory.max"))
		if err != nil {
			return nil, err
		}
		highV, err := readLimit(filepath.Join(dir, "memory.high"))
		if err != nil {
			return nil, err
		}
		cg.Max, cg.High = minNonZero(cg.Max, maxV), minNonZero(cg.High, highV)
		// On a tie the ancestor wins: its usage includes the leaf's, so it
		// reaches the limit first.
		if lim := minNonZero(maxV, highV); lim != 0 && (tightest == 0 || lim <= tightest) {
			tightest, cg.LimitPath = lim, dir
		}
		if dir == root || dir == filepath.Dir(dir) {
			break
		}
	}

	if cg.Current, err = readValue(filepath.Join(cg.LimitPath, "memory.current")); err != nil {
		return nil, err
	}
	if cg.Stat, err = readStat(filepath.Join(cg.LimitPath, "memory.stat")); err != nil {
		return nil, err
	}
	cg.InactiveFile = cg.Stat["inactive_file"]
	if cg.Current > cg.InactiveFile {
		cg.WorkingSet = cg.Current - cg.InactiveFile
	}
	return cg, nil
}

// cgroupPath finds the process's cgroup v2 path relative to cgroupRoot. A
// container without its own cgroup namespace sees its full host path in
// /proc/self/cgroup while only its subtree is mounted; mountinfo's root field
// for that mount says which prefix to strip.
func cgroupPath(procRoot, cgroupRoot string) (string, bool, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, "self", "cgroup"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("%w: %w", ErrProc, err)
	}
	var path string
	found := false
	for line := range bytes.Lines(data) {
		if p, ok := bytes.CutPrefix(bytes.TrimRight(line, "\n"), []byte("0::")); ok {
			path, found = string(p), true
			break
		}
	}
	if !found || !strings.HasPrefix(path, "/") {
		return "", false, nil
	}
	if mountRoot := cgroup2MountRoot(procRoot, cgroupRoot); mountRoot != "/" {
		rest, ok := strings.CutPrefix(path, mountRoot)
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
			return "", false, nil
		}
		path = "/" + strings.TrimPrefix(rest, "/")
	}
	// Paths outside the cgroup namespace show as "/../x"; they are not
	// under the mount.
	path = filepath.Clean(path)
	if path == "/.." || strings.HasPrefix(path, "/../") {
		return "", false, nil
	}
	return path, true, nil
}

// cgroup2MountRoot returns the root field of the cgroup2 mount at
// cgroupRoot, or "/" when mountinfo is unreadable or lists no such mount.
func cgroup2MountRoot(procRoot, cgroupRoot string) string {
	f, err := os.Open(filepath.Join(procRoot, "self", "mountinfo"))
	if err != nil {
		return "/"
	}
	defer f.Close()
	want := filepath.Clean(cgroupRoot)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, fsType := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(fsType) == 0 || fsType[0] != "cgroup2" {
			continue
		}
		if filepath.Clean(unescapeMount(fields[4])) == want {
			return unescapeMount(fields[3])
		}
	}
	return "/"
}

// unescapeMount undoes mountinfo's octal escapes (\040 for space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readLimit reads memory.max or memory.high: "max" and a missing file both
// mean no limit (0).
func readLimit(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCgroup, err)
	}
	if s := strings.TrimSpace(string(data)); s == "max" {
		return 0, nil
	}
	return parseValue(path, data)
}

func readValue(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCgroup, err)
	}
	return parseValue(path, data)
}

func parseValue(path string, data []byte) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrCgroup, path, err)
	}
	return v, nil
}

// readStat parses memory.stat ("key value" lines). A missing file yields an
// empty map: some kernels and fake filesystems do not provide it.
func readStat(path string) (map[string]uint64, error) {
	stat := map[string]uint64{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stat, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCgroup, err)
	}
	for line := range bytes.Lines(data) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: %s: malformed line %q", ErrCgroup, path, bytes.TrimSpace(line))
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s: %w", ErrCgroup, path, f[0], err)
		}
		stat[f[0]] = v
	}
	return stat, nil
}
