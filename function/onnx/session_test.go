package onnx

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestSessionRunsConcurrentlyAndCloses(t *testing.T) {
	_, models := assets(t)
	s, err := Open(filepath.Join(models, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), WithThreads(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 2*3*48*192)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, shape, err := s.Run(in, 2, 3, 48, 192)
			if err == nil && (len(shape) != 2 || shape[0] != 2 || shape[1] != 2 || len(out) != 4) {
				err = errors.New("unexpected output shape")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := s.Run(in, 2, 3, 48, 192); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	_, models := assets(t)
	if _, err := Open(filepath.Join(models, "missing.onnx")); !errors.Is(err, ErrModel) {
		t.Errorf("missing model: %v, want ErrModel", err)
	}
	if _, err := Open(filepath.Join(models, "ppocr_keys_v1.txt")); !errors.Is(err, ErrModel) {
		t.Errorf("not a model: %v, want ErrModel", err)
	}
	s, err := Open(filepath.Join(models, "ch_ppocr_mobile_v2.0_cls_infer.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Run(make([]float32, 10), 1, 3, 48, 192); !errors.Is(err, ErrBadShape) {
		t.Errorf("short data: %v, want ErrBadShape", err)
	}
	if _, _, err := s.Run(make([]float32, 48*192), 1, 1, 48, 192); !errors.Is(err, ErrInference) {
		t.Errorf("one channel for a three-channel model: %v, want ErrInference", err)
	}
}

func TestShrinkList(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{ArenaShrink: false, CPUArena: true}, ""},
		{Options{ArenaShrink: true, CPUArena: true, Device: "cpu"}, "cpu:0"},
		{Options{ArenaShrink: true, CPUArena: false, Device: "cpu"}, ""},
		{Options{ArenaShrink: true, CPUArena: true, Device: "cuda:1"}, "cpu:0;gpu:1"},
	} {
		if got := shrinkList(c.o); got != c.want {
			t.Errorf("%+v: %q, want %q", c.o, got, c.want)
		}
	}
}

func TestInitRejectsAnotherLibrary(t *testing.T) {
	lib, _ := assets(t)
	if err := Init(lib); err != nil {
		t.Errorf("same library again: %v", err)
	}
	if err := Init(lib + ".other"); !errors.Is(err, ErrRuntime) {
		t.Errorf("other library: %v, want ErrRuntime", err)
	}
}

func TestCUDAAvailableAnswers(t *testing.T) {
	assets(t)
	// The npm build has no CUDA provider: on these machines it must say so
	// with a typed error rather than crash; where a CUDA build is installed
	// it may succeed.
	if err := CUDAAvailable(); err != nil && !errors.Is(err, ErrNoAccelerator) {
		t.Errorf("CUDAAvailable: %v, want nil or ErrNoAccelerator", err)
	} else {
		t.Logf("CUDAAvailable: %v", err)
	}
}

// TestMaxRunsQueuesTheExcess holds the only run slot of a session capped at
// one and checks that a second run waits for it, then completes.
func TestMaxRunsQueuesTheExcess(t *testing.T) {
	_, models := assets(t)
	s, err := Open(filepath.Join(models, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), WithThreads(1, 1), WithMaxRuns(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.runs <- struct{}{} // a run in progress
	done := make(chan error, 1)
	go func() {
		_, _, err := s.Run(make([]float32, 3*48*192), 1, 3, 48, 192)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a second run went past a cap of 1 (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	<-s.runs
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the queued run never ran after the slot was freed")
	}
	if open, err := Open(filepath.Join(models, "ch_ppocr_mobile_v2.0_cls_infer.onnx")); err != nil {
		t.Fatal(err)
	} else if open.runs != nil {
		t.Error("a session with no cap has a run semaphore")
	} else {
		open.Close()
	}
}

// TestRunFuncHandsOverTheOutput checks that read sees the output Run would
// copy, and that its error is RunFunc's.
func TestRunFuncHandsOverTheOutput(t *testing.T) {
	_, models := assets(t)
	s, err := Open(filepath.Join(models, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), WithThreads(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := make([]float32, 3*48*192)
	for i := range in {
		in[i] = float32(i%7) / 7
	}
	want, _, err := s.Run(in, 1, 3, 48, 192)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	err = s.RunFunc(in, []int64{1, 3, 48, 192}, func(out []float32, shape []int64) error {
		if len(shape) != 2 || shape[0] != 1 || shape[1] != 2 || len(out) != len(want) {
			t.Errorf("read got shape %v and %d values, want [1 2] and %d", shape, len(out), len(want))
		}
		for i := range min(len(out), len(want)) {
			if out[i] != want[i] {
				t.Errorf("value %d: %v, Run gave %v", i, out[i], want[i])
			}
		}
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("RunFunc returned %v, want read's error", err)
	}
}
