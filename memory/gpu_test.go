package memory

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// fakeGPU is a device with scripted memory use; it answers both memory
// calls unless told otherwise.
type fakeGPU struct {
	total, reserved uint64
	used            atomic.Uint64
	v2Ret           nvml.Return // returned by GetMemoryInfo_v2; SUCCESS by default
	v1Ret           nvml.Return
}

func (f *fakeGPU) device(i int) *mock.Device {
	return &mock.Device{
		GetUUIDFunc: func() (string, nvml.Return) { return "GPU-" + string(rune('a'+i)), nvml.SUCCESS },
		GetNameFunc: func() (string, nvml.Return) { return "NVIDIA H100 80GB HBM3", nvml.SUCCESS },
		GetMemoryInfo_v2Func: func() (nvml.Memory_v2, nvml.Return) {
			u := f.used.Load()
			return nvml.Memory_v2{Total: f.total, Reserved: f.reserved, Used: u, Free: f.total - f.reserved - u}, f.v2Ret
		},
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			u := f.used.Load() + f.reserved
			return nvml.Memory{Total: f.total, Used: u, Free: f.total - u}, f.v1Ret
		},
	}
}

// fakeNVML is an initialised library with the given devices, exporting
// nvmlDeviceGetMemoryInfo_v2 when v2 is set.
func fakeNVML(v2 bool, gpus ...*fakeGPU) (*mock.Interface, []*mock.Device) {
	devs := make([]*mock.Device, len(gpus))
	for i, g := range gpus {
		devs[i] = g.device(i)
	}
	ext := &mock.ExtendedInterface{LookupSymbolFunc: func(name string) error {
		if v2 && name == "nvmlDeviceGetMemoryInfo_v2" {
			return nil
		}
		return errors.New("undefined symbol: " + name)
	}}
	lib := &mock.Interface{
		InitFunc:           func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		ExtensionsFunc:     func() nvml.ExtendedInterface { return ext },
		DeviceGetCountFunc: func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if i < 0 || i >= len(devs) {
				return nil, nvml.ERROR_INVALID_ARGUMENT
			}
			return devs[i], nvml.SUCCESS
		},
	}
	return lib, devs
}

func gpuProbe(t *testing.T, lib nvml.Interface) *Probe {
	t.Helper()
	return fixtureProbe(t, "testdata/v1-hybrid", WithNVML(lib))
}

func TestNVMLAbsent(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED} {
		t.Run(ret.Error(), func(t *testing.T) {
			var shutdowns atomic.Int32
			lib := &mock.Interface{
				InitFunc:     func() nvml.Return { return ret },
				ShutdownFunc: func() nvml.Return { shutdowns.Add(1); return nvml.SUCCESS },
			}
			p, err := NewProbe(WithProcRoot("testdata/v1-hybrid/proc"), WithNVML(lib))
			if err != nil {
				t.Fatal(err)
			}
			if len(lib.InitCalls()) != 0 {
				t.Fatal("NVML initialised before it was needed")
			}
			for range 3 {
				s, err := p.Snapshot()
				if err != nil || len(s.GPUs) != 0 || s.RSS != 200*mib {
					t.Fatalf("err %v GPUs %v RSS %d", err, s.GPUs, s.RSS)
				}
			}
			if p.GPUAvailable() {
				t.Fatal("GPUAvailable without NVML")
			}
			if n := len(lib.InitCalls()); n != 1 {
				t.Fatalf("Init called %d times, want 1", n)
			}
			if err := p.Close(); err != nil || shutdowns.Load() != 0 {
				t.Fatalf("Close err %v, %d Shutdown calls after failed Init", err, shutdowns.Load())
			}
		})
	}
}

func TestNVMLMemory(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		name := map[bool]string{true: "v2", false: "v1"}[v2]
		t.Run(name, func(t *testing.T) {
			gpus := []*fakeGPU{{total: 80 * gib, reserved: 512 * mib}, {total: 80 * gib, reserved: 512 * mib}}
			gpus[0].used.Store(10 * gib)
			gpus[1].used.Store(1 * gib)
			lib, devs := fakeNVML(v2, gpus...)
			p := gpuProbe(t, lib)
			if !p.GPUAvailable() {
				t.Fatal("GPUAvailable false with two devices")
			}
			for step, used := range []uint64{10 * gib, 40 * gib, 5 * gib} {
				gpus[0].used.Store(used)
				s, err := p.Snapshot()
				if err != nil || len(s.GPUs) != 2 {
					t.Fatalf("step %d: err %v GPUs %+v", step, err, s.GPUs)
				}
				g := s.GPUs[0]
				if g.Index != 0 || g.UUID != "GPU-a" || s.GPUs[1].UUID != "GPU-b" || g.Name == "" || g.Total != 80*gib {
					t.Fatalf("GPU %+v", g)
				}
				wantUsed, wantReserved := used, uint64(512*mib)
				if !v2 {
					// The v1 call folds reserved memory into Used.
					wantUsed, wantReserved = used+512*mib, 0
				}
				if g.Used != wantUsed || g.Reserved != wantReserved || g.Free != 80*gib-512*mib-used {
					t.Fatalf("step %d: GPU %+v, want used %d reserved %d", step, g, wantUsed, wantReserved)
				}
				if want := float64(used+512*mib) / float64(80*gib); g.Fraction() != want {
					t.Fatalf("Fraction %v, want %v", g.Fraction(), want)
				}
			}
			v1Calls, v2Calls := len(devs[0].GetMemoryInfoCalls()), len(devs[0].GetMemoryInfo_v2Calls())
			if v2 && (v2Calls != 3 || v1Calls != 0) || !v2 && (v2Calls != 0 || v1Calls != 3) {
				t.Fatalf("v1 calls %d, v2 calls %d", v1Calls, v2Calls)
			}
			if len(lib.InitCalls()) != 1 || len(lib.DeviceGetHandleByIndexCalls()) != 2 {
				t.Fatalf("Init %d handle lookups %d: handles not cached", len(lib.InitCalls()), len(lib.DeviceGetHandleByIndexCalls()))
			}
			if err := p.Close(); err != nil || len(lib.ShutdownCalls()) != 1 {
				t.Fatalf("Close err %v shutdowns %d", err, len(lib.ShutdownCalls()))
			}
			if err := p.Close(); err != nil || len(lib.ShutdownCalls()) != 1 {
				t.Fatalf("second Close err %v shutdowns %d", err, len(lib.ShutdownCalls()))
			}
			if _, err := p.Snapshot(); !errors.Is(err, ErrClosed) {
				t.Fatalf("Snapshot after Close: %v", err)
			}
			if p.GPUAvailable() || p.RSS() != 200*mib {
				t.Fatal("after Close: GPUAvailable true or RSS broken")
			}
		})
	}
}

func TestNVMLv2Unsupported(t *testing.T) {
	// The symbol exists but the device refuses the versioned struct (seen on
	// some vGPU setups): fall back to v1 once and stay there.
	gpu := &fakeGPU{total: 16 * gib, v2Ret: nvml.ERROR_NOT_SUPPORTED}
	gpu.used.Store(4 * gib)
	lib, devs := fakeNVML(true, gpu)
	p := gpuProbe(t, lib)
	for range 3 {
		s, err := p.Snapshot()
		if err != nil || len(s.GPUs) != 1 || s.GPUs[0].Used != 4*gib {
			t.Fatalf("err %v GPUs %+v", err, s.GPUs)
		}
	}
	if n := len(devs[0].GetMemoryInfo_v2Calls()); n != 1 {
		t.Fatalf("v2 tried %d times, want 1", n)
	}
}

func TestNVMLDeviceErrors(t *testing.T) {
	t.Run("one device lost", func(t *testing.T) {
		good, lost := &fakeGPU{total: 8 * gib}, &fakeGPU{total: 8 * gib, v2Ret: nvml.ERROR_GPU_IS_LOST}
		lib, _ := fakeNVML(true, good, lost)
		s, err := gpuProbe(t, lib).Snapshot()
		if !errors.Is(err, ErrNVML) {
			t.Fatalf("err = %v, want ErrNVML", err)
		}
		if len(s.GPUs) != 1 || s.GPUs[0].Index != 0 || s.RSS != 200*mib || s.Limit != 16*gib {
			t.Fatalf("partial snapshot %+v", s)
		}
	})
	t.Run("handle lookup fails", func(t *testing.T) {
		lib, _ := fakeNVML(false, &fakeGPU{total: 8 * gib})
		lib.DeviceGetCountFunc = func() (int, nvml.Return) { return 2, nvml.SUCCESS }
		p := gpuProbe(t, lib)
		s, err := p.Snapshot()
		if !errors.Is(err, ErrNVML) || len(s.GPUs) != 1 {
			t.Fatalf("err %v GPUs %+v", err, s.GPUs)
		}
		if !p.GPUAvailable() {
			t.Fatal("the readable device should count")
		}
	})
	t.Run("count fails", func(t *testing.T) {
		lib, _ := fakeNVML(false)
		lib.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
		p := gpuProbe(t, lib)
		if _, err := p.Snapshot(); !errors.Is(err, ErrNVML) {
			t.Fatalf("err = %v, want ErrNVML", err)
		}
		// Init succeeded, so Close still owes NVML a Shutdown.
		if err := p.Close(); err != nil || len(lib.ShutdownCalls()) != 1 {
			t.Fatalf("Close err %v shutdowns %d", err, len(lib.ShutdownCalls()))
		}
	})
	t.Run("shutdown fails", func(t *testing.T) {
		lib, _ := fakeNVML(false, &fakeGPU{total: 8 * gib})
		lib.ShutdownFunc = func() nvml.Return { return nvml.ERROR_UNKNOWN }
		p := gpuProbe(t, lib)
		p.GPUAvailable()
		if err := p.Close(); !errors.Is(err, ErrNVML) {
			t.Fatalf("Close err = %v, want ErrNVML", err)
		}
	})
}

func TestProbeConcurrent(t *testing.T) {
	gpu := &fakeGPU{total: 8 * gib}
	lib, _ := fakeNVML(true, gpu)
	p := gpuProbe(t, lib)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				gpu.used.Store(uint64(i*j) * mib)
				if s, err := p.Snapshot(); err != nil || len(s.GPUs) != 1 {
					t.Errorf("err %v GPUs %d", err, len(s.GPUs))
					return
				}
				p.RSS()
			}
		})
	}
	wg.Wait()
	if len(lib.InitCalls()) != 1 {
		t.Fatalf("Init called %d times", len(lib.InitCalls()))
	}

	// Close racing with snapshots: each one either completes or sees
	// ErrClosed, and NVML is shut down exactly once, after the last query.
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if _, err := p.Snapshot(); err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("Snapshot during Close: %v", err)
				}
			}
		})
	}
	wg.Go(func() { p.Close() })
	wg.Go(func() { p.Close() })
	wg.Wait()
	if n := len(lib.ShutdownCalls()); n != 1 {
		t.Fatalf("Shutdown called %d times", n)
	}
}
