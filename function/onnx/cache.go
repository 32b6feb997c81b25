package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"
	"golang.org/x/sys/cpu"
)

// openCached opens the session for model (path's bytes, folded or not)
// through the optimised-graph cache when o.CacheDir is set and the session
// runs on the CPU: a cached graph is loaded with ONNX Runtime's
// optimisations off (they are already applied); a missing one is written
// by this Open. Any trouble with the cache falls back to the model itself:
// the cache only saves time.
func openCached(path string, model []byte, in, out string, so *ort.SessionOptions, o Options) (*ort.DynamicAdvancedSession, error) {
	openModel := func() (*ort.DynamicAdvancedSession, error) {
		return ort.NewDynamicAdvancedSessionWithONNXData(model, []string{in}, []string{out}, so)
	}
	if _, gpu := cudaDevice(o.Device); o.CacheDir == "" || gpu {
		return openModel()
	}
	key := cacheKey(path, model)
	cached := filepath.Join(o.CacheDir, key+".onnx")
	if _, err := os.Stat(cached); err == nil {
		if so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll) == nil {
			if s, err := ort.NewDynamicAdvancedSession(cached, []string{in}, []string{out}, so); err == nil {
				return s, nil
			}
		}
		os.Remove(cached) // unreadable: made again below
		so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll)
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return openModel()
	}
	// Written under a name of its own and renamed, so that two hosts
	// sharing the folder never load a half-written graph.
	tmp, err := os.CreateTemp(o.CacheDir, key+".*.tmp")
	if err != nil {
		return openModel()
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if so.SetOptimizedModelFilePath(tmp.Name()) != nil {
		return openModel()
	}
	s, err := openModel()
	if err == nil {
		os.Rename(tmp.Name(), cached)
	}
	return s, err
}

// cacheKey names a model's optimised graph by what decides it: the bytes
// ONNX Runtime optimises (so a changed fold is a new graph), the ONNX
// Runtime version and the CPU features its layout optimisations choose
// kernels (and block sizes) by.
func cacheKey(path string, model []byte) string {
	sum := sha256.Sum256(model)
	h := sha256.New()
	h.Write(sum[:])
	fmt.Fprintf(h, "\x00ort %s\x00avx2 %v avx512f %v avx512bw %v avx512vnni %v arm64 %v",
		Version(), cpu.X86.HasAVX2, cpu.X86.HasAVX512F, cpu.X86.HasAVX512BW, cpu.X86.HasAVX512VNNI, cpu.ARM64.HasASIMD)
	return filepath.Base(path) + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}
