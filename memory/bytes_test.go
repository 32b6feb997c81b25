package memory

import (
	"errors"
	"math"
	"testing"
)

func TestParseBytes(t *testing.T) {
	good := []struct {
		in   string
		want uint64
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"100B", 100},
		{"1KB", 1000},
		{"1kb", 1000},
		{"2G", 2e9},
		{"2GB", 2e9},
		{"1.5GB", 1.5e9},
		{"512MiB", 512 << 20},
		{"512Mi", 512 << 20},
		{"1.5GiB", 3 << 29},
		{" 1.5 gib ", 3 << 29},
		{".5KiB", 512},
		{"0.1KiB", 102}, // 102.4 rounds down
		{"3TiB", 3 << 40},
		{"18446744073709551615", math.MaxUint64},
		{"15EiB", 15 << 60},
	}
	for _, c := range good {
		got, err := ParseBytes(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"", "   ", "GiB", "-1", "+1", "1.5", "1.5B", "1..5GiB", "1.GiB", ".",
		"1e9", "12XB", "1 G i B", "18446744073709551616", "16EiB", "99999999999999999999GiB", "NaN", "inf",
	}
	for _, in := range bad {
		got, err := ParseBytes(in)
		if !errors.Is(err, ErrInvalidSize) {
			t.Errorf("ParseBytes(%q) = %d, %v; want ErrInvalidSize", in, got, err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	cases := []struct {
		in   uint64
		want string
	}{
		{0, "0B"},
		{1023, "1023B"},
		{1024, "1KiB"},
		{1536, "1.5KiB"},
		{512 << 20, "512MiB"},
		{3 << 29, "1.5GiB"},
		{1<<30 - 1, "1GiB"}, // 1023.999 MiB rounds up into the next unit
		{math.MaxUint64, "16EiB"},
	}
	for _, c := range cases {
		if got := FormatBytes(c.in); got != c.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", c.in, got, c.want)
		}
	}
	// The output must read back through ParseBytes to within rounding.
	for _, v := range []uint64{1, 4096, 123456789, 7 << 30} {
		back, err := ParseBytes(FormatBytes(v))
		if err != nil {
			t.Fatalf("ParseBytes(FormatBytes(%d)): %v", v, err)
		}
		if diff := math.Abs(float64(back) - float64(v)); diff > float64(v)*0.005 {
			t.Errorf("round trip of %d gave %d", v, back)
		}
	}
}
