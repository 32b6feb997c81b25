package main

import (
	"os"
	"path/filepath"
)

// locateAssets returns the ONNX Runtime library and the model folder: lib
// and modelDir when set (OCRHOST_ORT_LIB, OCRHOST_MODEL_DIR), else the first
// third_party/ found walking up from the working directory or the
// executable's folder (where `make deps` puts them), else the paths a
// container image installs. Where a deployment keeps its files is
// configuration, so it is found here and handed to the function.
func locateAssets(lib, modelDir string) (string, string) {
	if lib != "" && modelDir != "" {
		return lib, modelDir
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	found := ""
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if st, err := os.Stat(filepath.Join(d, "third_party", "models")); err == nil && st.IsDir() {
				found = filepath.Join(d, "third_party")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
		if found != "" {
			break
		}
	}
	if found == "" {
		found = "/opt/ocrhost"
	}
	if lib == "" {
		lib = filepath.Join(found, "lib", "libonnxruntime.so.1")
	}
	if modelDir == "" {
		modelDir = filepath.Join(found, "models")
	}
	return lib, modelDir
}
