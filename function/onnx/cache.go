package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"
	"golang.org/x/sys/cpu"
)

// openCached opens the session for path through the optimised-graph cache
// when o.CacheDir is set and the session runs on the CPU: a cached graph is
// loaded with ONNX Runtime's optimisations off (they are already applied);
// a missing one is written by this Open. Any trouble with the cache falls
// back to the model itself: the cache only saves time.
func openCached(path, in, out string, so *ort.SessionOptions, o Options) (*ort.DynamicAdvancedSession, error) {
	open := func(p string) (*ort.DynamicAdvancedSession, error) {
		return ort.NewDynamicAdvancedSession(p, []string{in}, []string{out}, so)
	}
	if _, gpu := cudaDevice(o.Device); o.CacheDir == "" || gpu {
		return open(path)
	}
	key, err := cacheKey(path)
	if err != nil {
		return open(path)
	}
	cached := filepath.Join(o.CacheDir, key+".onnx")
	if _, err := os.Stat(cached); err == nil {
		if so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll) == nil {
			if s, err := open(cached); err == nil {
				return s, nil
			}
		}
		os.Remove(cached) // unreadable: made again below
		so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll)
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return open(path)
	}
	// Written under a name of its own and renamed, so that two hosts
	// sharing the folder never load a half-written graph.
	tmp, err := os.CreateTemp(o.CacheDir, key+".*.tmp")
	if err != nil {
		return open(path)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if so.SetOptimizedModelFilePath(tmp.Name()) != nil {
		return open(path)
	}
	s, err := open(path)
	if err == nil {
		os.Rename(tmp.Name(), cached)
	}
	return s, err
}

// cacheKey names a model's optimised graph by what decides it: the model's
// bytes, the ONNX Runtime version and the CPU features its layout
// optimisations choose kernels (and block sizes) by.
func cacheKey(path string) (string, error) {
	sum, err := FileDigest(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(sum)
	fmt.Fprintf(h, "\x00ort %s\x00avx2 %v avx512f %v avx512bw %v avx512vnni %v arm64 %v",
		Version(), cpu.X86.HasAVX2, cpu.X86.HasAVX512F, cpu.X86.HasAVX512BW, cpu.X86.HasAVX512VNNI, cpu.ARM64.HasASIMD)
	return filepath.Base(path) + "-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// FileDigest is the SHA-256 of a file's bytes: what names a model's
// version and its optimised graph.
func FileDigest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
