package benchreport

import (
	"bufio"
	"bytes"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where and when the benchmarks ran.
type Machine struct {
	Start, End time.Time
	CPU        string
	Cores      int
	// MemTotal is in bytes; 0 when unknown.
	MemTotal uint64
	// LoadStart and LoadEnd are the 1, 5 and 15 minute load averages.
	LoadStart, LoadEnd string
	GoVersion          string
	ORTVersion         string
	Command            string
}

// ReadMachine reads the CPU model, RAM and load average from proc (a
// /proc file system); what it cannot read stays empty. End is now, and
// LoadEnd the load now: ReadMachine runs when the benchmarks are done.
func ReadMachine(proc fs.FS) Machine {
	m := Machine{End: time.Now(), Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := fs.ReadFile(proc, "cpuinfo"); err == nil {
		m.CPU = field(b, "model name")
	}
	if b, err := fs.ReadFile(proc, "meminfo"); err == nil {
		// "MemTotal:       24576000 kB"
		if f := strings.Fields(field(b, "MemTotal")); len(f) == 2 && f[1] == "kB" {
			if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil {
				m.MemTotal = kb << 10
			}
		}
	}
	if b, err := fs.ReadFile(proc, "loadavg"); err == nil {
		m.LoadEnd = LoadAverage(string(b))
	}
	return m
}

// LoadAverage keeps the three load averages of a /proc/loadavg line.
func LoadAverage(loadavg string) string {
	f := strings.Fields(loadavg)
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// field returns the value of the first "key : value" line of b.
func field(b []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
