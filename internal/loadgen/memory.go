package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrMemoryReport: the host's memory report could not be read.
var ErrMemoryReport = errors.New("memory report unavailable")

// MemorySample is one reading of the host's memory report.
type MemorySample struct {
	// At is when the sample was asked for, from the start of the run.
	At time.Duration
	// RSS is the host process's resident set; Used is what counts against
	// Limit (the cgroup working set under a cgroup limit, else RSS).
	RSS, Used, Limit uint64
	// Level is the memory monitor's pressure level, empty without a guard.
	Level string
}

// MemorySource reads the host's memory report.
type MemorySource interface {
	Memory(ctx context.Context) (MemorySample, error)
}

// memoryReport is the part of the host's /debug/memory JSON (and of the
// memory subject's reply) that a load run tracks.
type memoryReport struct {
	Memory struct {
		RSS   uint64 `json:"rss"`
		Limit uint64 `json:"limit"`
	} `json:"memory"`
	Used  uint64 `json:"used"`
	Level string `json:"level"`
	Error string `json:"error"`
}

func parseMemoryReport(data []byte) (MemorySample, error) {
	var r memoryReport
	if err := json.Unmarshal(data, &r); err != nil {
		return MemorySample{}, fmt.Errorf("%w: %w", ErrMemoryReport, err)
	}
	if r.Error != "" {
		return MemorySample{}, fmt.Errorf("%w: host says %s", ErrMemoryReport, r.Error)
	}
	if r.Memory.RSS == 0 {
		return MemorySample{}, fmt.Errorf("%w: no RSS in %.100q", ErrMemoryReport, data)
	}
	return MemorySample{RSS: r.Memory.RSS, Used: r.Used, Limit: r.Memory.Limit, Level: r.Level}, nil
}

// NATSMemory asks for the memory report by request-reply on a subject
// (the host's OCRHOST_MEMORY_SUBJECT).
type NATSMemory struct {
	NC      *nats.Conn
	Subject string
}

// Memory asks once.
func (m NATSMemory) Memory(ctx context.Context) (MemorySample, error) {
	rep, err := m.NC.RequestWithContext(ctx, m.Subject, nil)
	if err != nil {
		return MemorySample{}, fmt.Errorf("%w: request on %q: %w", ErrMemoryReport, m.Subject, err)
	}
	return parseMemoryReport(rep.Data)
}

// HTTPMemory reads the memory report from a URL (the host's /debug/memory).
type HTTPMemory struct {
	Client *http.Client
	URL    string
}

// Memory reads once.
func (m HTTPMemory) Memory(ctx context.Context) (MemorySample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL, nil)
	if err != nil {
		return MemorySample{}, fmt.Errorf("%w: %w", ErrMemoryReport, err)
	}
	resp, err := m.Client.Do(req)
	if err != nil {
		return MemorySample{}, fmt.Errorf("%w: %w", ErrMemoryReport, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return MemorySample{}, fmt.Errorf("%w: %w", ErrMemoryReport, err)
	}
	if resp.StatusCode != http.StatusOK {
		return MemorySample{}, fmt.Errorf("%w: GET %s: %s: %.200s", ErrMemoryReport, m.URL, resp.Status, body)
	}
	return parseMemoryReport(body)
}
