// Command benchreport writes the report of a `go test -bench` run (see
// scripts/bench.sh): report.md, targets.png and the series charts. It
// exits 1 when a benchmark or package failed, after writing the report,
// and 2 when it could not write one.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/internal/benchreport"
)

func main() {
	in := flag.String("in", "out/bench/raw.json", "go test -json -bench output to read")
	out := flag.String("out", "out/bench", "directory to write the report into")
	var t times
	flag.Int64Var(&t.start, "start", 0, "Unix time the benchmarks started")
	flag.StringVar(&t.loadStart, "load-start", "", "/proc/loadavg when the benchmarks started")
	flag.Int64Var(&t.end, "end", 0, "Unix time the benchmarks ended (default now)")
	flag.StringVar(&t.loadEnd, "load-end", "", "/proc/loadavg when the benchmarks ended (default now)")
	command := flag.String("command", "", "the go test command, for the report")
	status := flag.Int("status", 0, "go test's exit status")
	flag.Parse()
	err := run(*in, *out, t, *command, *status)
	switch {
	case errors.Is(err, benchreport.ErrFailed):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(2)
	}
}

// times holds when the benchmarks ran and the load then, as the script
// took them.
type times struct {
	start, end         int64
	loadStart, loadEnd string
}

func run(in, out string, t times, command string, status int) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	results, err := benchreport.Parse(f)
	if err != nil {
		return err
	}
	results.Exited(status)
	m := benchreport.ReadMachine(os.DirFS("/proc"))
	if t.start > 0 {
		m.Start = time.Unix(t.start, 0)
	}
	if t.end > 0 {
		m.End = time.Unix(t.end, 0)
	}
	m.LoadStart = benchreport.LoadAverage(t.loadStart)
	if t.loadEnd != "" {
		m.LoadEnd = benchreport.LoadAverage(t.loadEnd)
	}
	m.Command = command
	m.ORTVersion = ortVersion()
	if err := benchreport.New(results, m, benchreport.Targets).WriteDir(out); err != nil {
		return err
	}
	fmt.Printf("benchreport: wrote %s/%s\n", out, benchreport.ReportFile)
	return results.Err()
}

// ortVersion loads the ONNX Runtime the benchmarks used (OCRHOST_ORT_LIB)
// and asks it its version; "" when it cannot.
func ortVersion() string {
	lib := os.Getenv("OCRHOST_ORT_LIB")
	if lib == "" {
		return ""
	}
	if err := onnx.Init(lib); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport: ONNX Runtime version unknown:", err)
		return ""
	}
	return onnx.Version()
}
