package onnx_test

import (
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/onnx"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/memory"
)

// TestKeepArena: with WithKeepArena, detection's activations stay resident
// between runs and go back once the session has been idle that long;
// without it they go back after every run.
func TestKeepArena(t *testing.T) {
	if testenv.Race() {
		t.Skip("-race: RSS figures are meaningless under the race detector's shadow memory")
	}
	files := testenv.Models(t)
	memory.TuneAllocator() // as the host runs: large blocks are mapped, so a free is a give-back
	probe, err := memory.NewProbe()
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	shape := []int64{1, 3, 736, 992}
	in := make([]float32, 3*736*992)
	const idle = 300 * time.Millisecond
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }

	for _, keep := range []time.Duration{0, idle} {
		s, err := onnx.Open(files.Path(function.KindDet), onnx.WithThreads(1, 1), onnx.WithKeepArena(keep))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Run(in, shape...); err != nil {
			t.Fatal(err)
		}
		loaded := probe.RSS()
		if _, _, err := s.Run(in, shape...); err != nil {
			t.Fatal(err)
		}
		after := probe.RSS()
		time.Sleep(3 * idle)
		idleRSS := probe.RSS()
		t.Logf("keep %v: RSS %.1f MB after the first run, %.1f after the second, %.1f idle", keep, mb(loaded), mb(after), mb(idleRSS))
		const held = 50 << 20 // detection at 736×992 holds about 100 MB of activations
		if keep == 0 {
			if after > idleRSS+held/5 || loaded > idleRSS+held/5 {
				t.Errorf("without keep, runs left %.1f MB more than idle", mb(after-idleRSS))
			}
		} else {
			if after < idleRSS+held {
				t.Errorf("kept: %.1f MB after a run, %.1f idle: want the arena (≥ %d MB) held between runs", mb(after), mb(idleRSS), held>>20)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKeepArenaClose: a session closed while its give-back is armed, or
// running, neither crashes nor runs afterwards.
func TestKeepArenaClose(t *testing.T) {
	files := testenv.Models(t)
	for _, wait := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond} {
		s, err := onnx.Open(files.Path(function.KindCls), onnx.WithThreads(1, 1), onnx.WithKeepArena(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Run(make([]float32, 3*48*192), 1, 3, 48, 192); err != nil {
			t.Fatal(err)
		}
		time.Sleep(wait)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
}
