package memory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

const (
	mib = 1 << 20
	gib = 1 << 30
)

// noNVML is a library whose Init fails as it does on a host without the
// NVIDIA driver; any other call panics, proving none is made.
func noNVML() *mock.Interface {
	return &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
}

// fixtureProbe opens a probe on testdata/<name>/{proc,cgroup}.
func fixtureProbe(t *testing.T, dir string, opts ...Option) *Probe {
	t.Helper()
	base := []Option{
		WithProcRoot(filepath.Join(dir, "proc")),
		WithCgroupRoot(filepath.Join(dir, "cgroup")),
		WithNVML(noNVML()),
	}
	p, err := NewProbe(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewProbe(%s): %v", dir, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// copyFixture copies testdata/<name> into a temporary directory that the
// test may modify.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Write and rename, so a concurrent sampler never reads a half-written file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotFixtures(t *testing.T) {
	type cg struct {
		path, limitPath                          string
		max, high, current, inactive, workingSet uint64
	}
	cases := []struct {
		name   string
		budget uint64
		cg     *cg
		limit  uint64
		used   uint64
	}{
		{"v2-limited", 0, &cg{"ocr", "ocr", 1 * gib, 0, 600 * mib, 100 * mib, 500 * mib}, 1 * gib, 500 * mib},
		{"v2-limited", 256 * mib, &cg{"ocr", "ocr", 1 * gib, 0, 600 * mib, 100 * mib, 500 * mib}, 256 * mib, 500 * mib},
		{"v2-unlimited", 0, &cg{"user.slice/session-1.scope", "user.slice/session-1.scope", 0, 0, 300 * mib, 50 * mib, 250 * mib}, 16 * gib, 200 * mib},
		{"v2-unlimited", 1 * gib, &cg{"user.slice/session-1.scope", "user.slice/session-1.scope", 0, 0, 300 * mib, 50 * mib, 250 * mib}, 1 * gib, 200 * mib},
		{"v2-nested", 0, &cg{"kubepods/pod1/ctr", "kubepods/pod1", 512 * mib, 0, 400 * mib, 50 * mib, 350 * mib}, 512 * mib, 350 * mib},
		{"v2-high", 0, &cg{"svc", "svc", 1 * gib, 768 * mib, 700 * mib, 0, 700 * mib}, 768 * mib, 700 * mib},
		{"v2-missing", 0, &cg{"bare", "bare", 0, 0, 500 * mib, 0, 500 * mib}, 16 * gib, 200 * mib},
		{"v1-hybrid", 0, nil, 16 * gib, 200 * mib},
		{"v1-hybrid", 64 * mib, nil, 64 * mib, 200 * mib},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", c.name)
			s, err := fixtureProbe(t, dir, WithBudget(c.budget)).Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if s.RSS != 200*mib || s.RSSAnon != 150*mib || s.RSSFile != 50*mib {
				t.Errorf("RSS %d anon %d file %d", s.RSS, s.RSSAnon, s.RSSFile)
			}
			if s.Physical != 16*gib || s.Available != 12*gib {
				t.Errorf("Physical %d Available %d", s.Physical, s.Available)
			}
			if s.Budget != c.budget || s.Limit != c.limit || s.Used() != c.used {
				t.Errorf("Budget %d Limit %d Used %d; want %d %d %d", s.Budget, s.Limit, s.Used(), c.budget, c.limit, c.used)
			}
			if want := float64(c.used) / float64(c.limit); s.Fraction() != want {
				t.Errorf("Fraction %v, want %v", s.Fraction(), want)
			}
			if len(s.GPUs) != 0 || s.Time.IsZero() || s.GoHeapInUse == 0 || s.GoSys < s.GoHeapInUse {
				t.Errorf("GPUs %v Time %v GoHeapInUse %d GoSys %d", s.GPUs, s.Time, s.GoHeapInUse, s.GoSys)
			}
			if c.cg == nil {
				if s.Cgroup != nil {
					t.Fatalf("Cgroup = %+v, want nil", s.Cgroup)
				}
				return
			}
			g := s.Cgroup
			if g == nil {
				t.Fatal("Cgroup nil")
			}
			root := filepath.Join(dir, "cgroup")
			if g.Path != filepath.Join(root, c.cg.path) || g.LimitPath != filepath.Join(root, c.cg.limitPath) {
				t.Errorf("Path %q LimitPath %q", g.Path, g.LimitPath)
			}
			got := cg{c.cg.path, c.cg.limitPath, g.Max, g.High, g.Current, g.InactiveFile, g.WorkingSet}
			if got != *c.cg {
				t.Errorf("cgroup %+v, want %+v", got, *c.cg)
			}
			if g.InactiveFile != g.Stat["inactive_file"] || (g.Stat == nil) {
				t.Errorf("Stat %v", g.Stat)
			}
		})
	}
}

func TestCgroupEdgeCases(t *testing.T) {
	t.Run("working set clamps at zero", func(t *testing.T) {
		dir := copyFixture(t, "v2-limited")
		writeFile(t, filepath.Join(dir, "cgroup/ocr/memory.stat"), "inactive_file 900000000\n")
		s, err := fixtureProbe(t, dir).Snapshot()
		if err != nil || s.Cgroup.WorkingSet != 0 || s.Used() != 0 {
			t.Fatalf("err %v cgroup %+v", err, s.Cgroup)
		}
	})
	t.Run("tie goes to the ancestor", func(t *testing.T) {
		dir := copyFixture(t, "v2-nested")
		writeFile(t, filepath.Join(dir, "cgroup/kubepods/pod1/ctr/memory.max"), "536870912\n")
		s, err := fixtureProbe(t, dir).Snapshot()
		if err != nil || !strings.HasSuffix(s.Cgroup.LimitPath, "kubepods/pod1") || s.Cgroup.Current != 400*mib {
			t.Fatalf("err %v cgroup %+v", err, s.Cgroup)
		}
	})
	t.Run("leaf tighter than parent", func(t *testing.T) {
		dir := copyFixture(t, "v2-nested")
		writeFile(t, filepath.Join(dir, "cgroup/kubepods/pod1/ctr/memory.high"), "268435456\n")
		s, err := fixtureProbe(t, dir).Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		g := s.Cgroup
		if g.Max != 512*mib || g.High != 256*mib || g.LimitPath != g.Path || g.WorkingSet != 190*mib || s.Limit != 256*mib {
			t.Fatalf("cgroup %+v limit %d", g, s.Limit)
		}
	})
	nilCases := map[string]string{
		"outside the namespace": "0::/../sibling\n",
		"root cgroup":           "0::/\n",
		"v1 only":               "4:memory:/x\n1:cpu:/\n",
		"relative path":         "0::garbage\n",
	}
	for name, content := range nilCases {
		t.Run(name, func(t *testing.T) {
			dir := copyFixture(t, "v2-limited")
			writeFile(t, filepath.Join(dir, "proc/self/cgroup"), content)
			s, err := fixtureProbe(t, dir).Snapshot()
			if err != nil || s.Cgroup != nil || s.Limit != 16*gib {
				t.Fatalf("err %v cgroup %+v limit %d", err, s.Cgroup, s.Limit)
			}
		})
	}
	t.Run("no /proc/self/cgroup", func(t *testing.T) {
		dir := copyFixture(t, "v2-limited")
		os.Remove(filepath.Join(dir, "proc/self/cgroup"))
		s, err := fixtureProbe(t, dir).Snapshot()
		if err != nil || s.Cgroup != nil {
			t.Fatalf("err %v cgroup %+v", err, s.Cgroup)
		}
	})
	t.Run("no memory controller in leaf", func(t *testing.T) {
		dir := copyFixture(t, "v2-limited")
		os.Remove(filepath.Join(dir, "cgroup/ocr/memory.current"))
		s, err := fixtureProbe(t, dir).Snapshot()
		if err != nil || s.Cgroup != nil {
			t.Fatalf("err %v cgroup %+v", err, s.Cgroup)
		}
	})
	t.Run("mount root stripped via mountinfo", func(t *testing.T) {
		// A container without a cgroup namespace: /proc/self/cgroup shows
		// the host path, only that subtree is mounted, at a path with a
		// space to exercise mountinfo's octal escapes.
		dir := t.TempDir()
		proc := copyFixture(t, "v2-limited") + "/proc"
		root := filepath.Join(dir, "cg root")
		writeFile(t, filepath.Join(root, "memory.max"), "314572800\n")
		writeFile(t, filepath.Join(root, "memory.current"), "104857600\n")
		writeFile(t, filepath.Join(proc, "self/cgroup"), "0::/docker/abc\n")
		mounts := "25 1 0:23 / /proc rw - proc proc rw\n" +
			"30 25 0:26 /docker/abc " + strings.ReplaceAll(root, " ", `\040`) + " rw,nosuid - cgroup2 cgroup2 rw\n"
		writeFile(t, filepath.Join(proc, "self/mountinfo"), mounts)
		p, err := NewProbe(WithProcRoot(proc), WithCgroupRoot(root), WithNVML(noNVML()))
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Snapshot()
		if err != nil || s.Cgroup == nil || s.Cgroup.Path != root || s.Cgroup.Max != 300*mib || s.Used() != 100*mib {
			t.Fatalf("err %v cgroup %+v", err, s.Cgroup)
		}
		// A process outside the mounted subtree has nothing to measure.
		writeFile(t, filepath.Join(proc, "self/cgroup"), "0::/docker/abcd\n")
		if s, err = p.Snapshot(); err != nil || s.Cgroup != nil {
			t.Fatalf("outside subtree: err %v cgroup %+v", err, s.Cgroup)
		}
	})
}

func TestSnapshotErrors(t *testing.T) {
	cgroupBad := map[string][2]string{
		"memory.max not a number":   {"cgroup/ocr/memory.max", "lots\n"},
		"parent memory.high broken": {"cgroup/memory.high", "-1\n"},
		"memory.current empty":      {"cgroup/ocr/memory.current", ""},
		"memory.stat malformed":     {"cgroup/ocr/memory.stat", "inactive_file\n"},
		"memory.stat value":         {"cgroup/ocr/memory.stat", "inactive_file many\n"},
	}
	for name, f := range cgroupBad {
		t.Run(name, func(t *testing.T) {
			dir := copyFixture(t, "v2-limited")
			writeFile(t, filepath.Join(dir, f[0]), f[1])
			_, err := fixtureProbe(t, dir).Snapshot()
			if !errors.Is(err, ErrCgroup) {
				t.Fatalf("err = %v, want ErrCgroup", err)
			}
		})
	}
	procBad := map[string][2]string{
		"no VmRSS":          {"proc/self/status", "Name:\tocrhost\nRssAnon:\t1 kB\n"},
		"VmRSS not numeric": {"proc/self/status", "VmRSS:\t lots kB\n"},
		"VmRSS bad unit":    {"proc/self/status", "VmRSS:\t 12 MB\n"},
		"no MemTotal":       {"proc/meminfo", "MemFree: 1 kB\n"},
		"MemTotal zero":     {"proc/meminfo", "MemTotal: 0 kB\n"},
	}
	for name, f := range procBad {
		t.Run(name, func(t *testing.T) {
			dir := copyFixture(t, "v2-limited")
			writeFile(t, filepath.Join(dir, f[0]), f[1])
			_, err := NewProbe(WithProcRoot(filepath.Join(dir, "proc")), WithNVML(noNVML()))
			if !errors.Is(err, ErrProc) {
				t.Fatalf("NewProbe err = %v, want ErrProc", err)
			}
		})
	}
	t.Run("status vanishes after NewProbe", func(t *testing.T) {
		dir := copyFixture(t, "v2-limited")
		p := fixtureProbe(t, dir)
		os.Remove(filepath.Join(dir, "proc/self/status"))
		if _, err := p.Snapshot(); !errors.Is(err, ErrProc) {
			t.Fatalf("err = %v, want ErrProc", err)
		}
		if p.RSS() != 0 {
			t.Fatal("RSS of unreadable status should be 0")
		}
	})
	t.Run("MemAvailable missing falls back to MemFree", func(t *testing.T) {
		dir := copyFixture(t, "v1-hybrid")
		writeFile(t, filepath.Join(dir, "proc/meminfo"), "MemTotal: 2048 kB\nMemFree: 1024 kB\n")
		s, err := fixtureProbe(t, dir).Snapshot()
		if err != nil || s.Physical != 2*mib || s.Available != 1*mib {
			t.Fatalf("err %v physical %d available %d", err, s.Physical, s.Available)
		}
	})
}

func TestProbeRSS(t *testing.T) {
	dir := copyFixture(t, "v1-hybrid")
	p := fixtureProbe(t, dir)
	if got := p.RSS(); got != 200*mib {
		t.Fatalf("RSS = %d", got)
	}
	writeFile(t, filepath.Join(dir, "proc/self/status"), "VmRSS:\t 1024 kB\n")
	if got := p.RSS(); got != 1*mib {
		t.Fatalf("RSS after change = %d", got)
	}
}

// TestLiveSnapshot measures the machine the test runs on, with the real
// NVML library when there is one.
func TestLiveSnapshot(t *testing.T) {
	p, err := NewProbe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS == 0 || s.RSSAnon == 0 || s.RSSAnon > s.RSS || s.Physical == 0 || s.Available > s.Physical {
		t.Errorf("RSS %d anon %d physical %d available %d", s.RSS, s.RSSAnon, s.Physical, s.Available)
	}
	if s.Limit == 0 || s.Limit > s.Physical || s.Used() == 0 {
		t.Errorf("Limit %d Physical %d Used %d", s.Limit, s.Physical, s.Used())
	}
	if s.GoHeapInUse == 0 || s.GoSys < s.GoHeapInUse {
		t.Errorf("GoHeapInUse %d GoSys %d RSS %d", s.GoHeapInUse, s.GoSys, s.RSS)
	}
	if rss := p.RSS(); rss == 0 || rss > 2*s.RSS {
		t.Errorf("RSS() %d vs snapshot %d", rss, s.RSS)
	}
	if s.Cgroup != nil && s.Cgroup.Current == 0 {
		t.Errorf("cgroup %+v has no usage", s.Cgroup)
	}
	if len(s.GPUs) > 0 != p.GPUAvailable() {
		t.Errorf("GPUs %d but GPUAvailable %v", len(s.GPUs), p.GPUAvailable())
	}
	for _, g := range s.GPUs {
		if g.Total == 0 || g.Free > g.Total || g.Used > g.Total || g.UUID == "" || g.Name == "" {
			t.Errorf("GPU %+v", g)
		}
	}
	t.Logf("RSS %s (anon %s, file %s) Go heap %s sys %s; limit %s of physical %s, available %s; cgroup %v; GPUs %+v",
		FormatBytes(s.RSS), FormatBytes(s.RSSAnon), FormatBytes(s.RSSFile), FormatBytes(s.GoHeapInUse), FormatBytes(s.GoSys),
		FormatBytes(s.Limit), FormatBytes(s.Physical), FormatBytes(s.Available), s.Cgroup != nil, s.GPUs)
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
