package imageio

import (
	"errors"
	"testing"
)

// FuzzDecode's seeds live in testdata/fuzz/FuzzDecode: small valid files of
// every format plus truncated, zero-size and oversized ones.
func FuzzDecode(f *testing.F) {
	const limit = 1 << 20 // keeps each input cheap; the limit itself is under test too
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cfgErr := DecodeConfig(data, WithMaxPixels(limit))
		m, info, err := Decode(data, WithMaxPixels(limit))
		if err != nil {
			if m != nil {
				t.Fatalf("image returned with error %v", err)
			}
			if kindOf(err) == nil {
				t.Fatalf("error %q wraps none of the package's kinds", err)
			}
			if cfgErr == nil && errors.Is(err, ErrTooLarge) {
				t.Fatalf("DecodeConfig accepted what Decode found too large: %+v", cfg)
			}
			return
		}
		if cfgErr != nil {
			t.Fatalf("DecodeConfig failed (%v) where Decode succeeded", cfgErr)
		}
		if cfg != info {
			t.Fatalf("DecodeConfig %+v, Decode %+v", cfg, info)
		}
		if m.W <= 0 || m.H <= 0 || m.W != info.Width || m.H != info.Height || len(m.Pix) != 3*m.W*m.H {
			t.Fatalf("image %dx%d with %d bytes, info %+v", m.W, m.H, len(m.Pix), info)
		}
		if int64(m.W)*int64(m.H) > limit {
			t.Fatalf("%dx%d passed a %d pixel limit", m.W, m.H, limit)
		}
		if info.Orientation < 1 || info.Orientation > 8 || info.Pages < 1 || Sniff(data) != info.Format {
			t.Fatalf("info %+v", info)
		}
	})
}

// kindOf returns the one package error kind err wraps, or nil when it wraps
// none or several.
func kindOf(err error) error {
	var found error
	for _, k := range kinds {
		if errors.Is(err, k) {
			if found != nil {
				return nil
			}
			found = k
		}
	}
	return found
}
