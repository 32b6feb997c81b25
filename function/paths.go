package function

import (
	"os"
	"path/filepath"
)

// Asset locations, overridable by environment so a container or a user's
// own models work (README, "Configuration").
const (
	EnvORTLib   = "OCRHOST_ORT_LIB"
	EnvModelDir = "OCRHOST_MODEL_DIR"
)

// LocateAssets returns the ONNX Runtime library and the model folder: from
// the environment when set, else the first third_party/ found walking up
// from the working directory or the executable's folder (where `make deps`
// puts them), else the paths a container image installs.
func LocateAssets() (lib, modelDir string) {
	lib, modelDir = os.Getenv(EnvORTLib), os.Getenv(EnvModelDir)
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
