package memory

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrNVML is returned when NVML initialised but a device query failed.
// NVML being absent (no library, no driver) is not an error: it means no GPUs.
var ErrNVML = errors.New("memory: NVML")

// GPU is one device's memory as NVML reports it.
type GPU struct {
	Index int    `json:"index"`
	UUID  string `json:"uuid"`
	Name  string `json:"name"`
	Total uint64 `json:"total"`
	Free  uint64 `json:"free"`
	// Used is memory allocated by processes. Drivers without
	// nvmlDeviceGetMemoryInfo_v2 report driver-reserved memory inside Used
	// and Reserved stays 0; either way Total − Free is what is taken.
	Used     uint64 `json:"used"`
	Reserved uint64 `json:"reserved"`
}

// Fraction is the share of the device that is taken, (Total − Free)/Total,
// counting other processes' allocations too: NVML cannot reliably attribute
// memory to this process inside a PID namespace.
func (g GPU) Fraction() float64 {
	if g.Total == 0 || g.Free >= g.Total {
		return 0
	}
	return float64(g.Total-g.Free) / float64(g.Total)
}

type gpuDevice struct {
	index      int
	uuid, name string
	dev        nvml.Device
	// v2 is cleared the first time the driver refuses the _v2 call, so a
	// device that does not support it costs one failed call, not one per
	// snapshot.
	v2 atomic.Bool
}

// initGPU initialises NVML once and caches the device handles. Failure to
// initialise (no libnvidia-ml, no driver) leaves the probe without GPUs; no
// other NVML function is called afterwards, since old drivers crash when used
// after a failed init.
func (p *Probe) initGPU() {
	p.gpuOnce.Do(func() {
		if ret := p.lib.Init(); ret != nvml.SUCCESS {
			return
		}
		p.nvmlUp = true
		n, ret := p.lib.DeviceGetCount()
		if ret != nvml.SUCCESS {
			p.gpuErr = fmt.Errorf("%w: device count: %v", ErrNVML, ret)
			return
		}
		// Looking the symbol up first matters: calling a function the
		// installed driver lacks aborts the process (go-nvml#82).
		v2 := p.lib.Extensions().LookupSymbol("nvmlDeviceGetMemoryInfo_v2") == nil
		var errs []error
		for i := range n {
			dev, ret := p.lib.DeviceGetHandleByIndex(i)
			if ret != nvml.SUCCESS {
				errs = append(errs, fmt.Errorf("%w: device %d handle: %v", ErrNVML, i, ret))
				continue
			}
			d := &gpuDevice{index: i, dev: dev}
			// UUID and name only label the device; a driver that cannot
			// report them still reports memory.
			d.uuid, _ = dev.GetUUID()
			d.name, _ = dev.GetName()
			d.v2.Store(v2)
			p.gpus = append(p.gpus, d)
		}
		p.gpuErr = errors.Join(errs...)
	})
}

func (d *gpuDevice) read() (GPU, error) {
	g := GPU{Index: d.index, UUID: d.uuid, Name: d.name}
	if d.v2.Load() {
		m, ret := d.dev.GetMemoryInfo_v2()
		switch ret {
		case nvml.SUCCESS:
			g.Total, g.Free, g.Used, g.Reserved = m.Total, m.Free, m.Used, m.Reserved
			return g, nil
		case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_FUNCTION_NOT_FOUND, nvml.ERROR_ARGUMENT_VERSION_MISMATCH:
			d.v2.Store(false)
		default:
			return g, fmt.Errorf("%w: device %d memory: %v", ErrNVML, d.index, ret)
		}
	}
	m, ret := d.dev.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return g, fmt.Errorf("%w: device %d memory: %v", ErrNVML, d.index, ret)
	}
	g.Total, g.Free, g.Used = m.Total, m.Free, m.Used
	return g, nil
}

// readGPUs returns the devices that could be read; the error covers the
// rest.
func (p *Probe) readGPUs() ([]GPU, error) {
	p.initGPU()
	errs := []error{p.gpuErr}
	gpus := make([]GPU, 0, len(p.gpus))
	for _, d := range p.gpus {
		g, err := d.read()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		gpus = append(gpus, g)
	}
	return gpus, errors.Join(errs...)
}
