package memory

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// ErrInvalidSize is returned by ParseBytes for input it cannot read as a size.
var ErrInvalidSize = errors.New("memory: invalid size")

// Unit multipliers. SI suffixes are powers of 1000 and IEC suffixes powers
// of 1024, as in Kubernetes quantities; a bare "G" is therefore 1e9 bytes,
// unlike Docker's "2g" which means 2 GiB.
var units = map[string]uint64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
	"t": 1e12, "tb": 1e12, "p": 1e15, "pb": 1e15, "e": 1e18, "eb": 1e18,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20,
	"gi": 1 << 30, "gib": 1 << 30, "ti": 1 << 40, "tib": 1 << 40,
	"pi": 1 << 50, "pib": 1 << 50, "ei": 1 << 60, "eib": 1 << 60,
}

// ParseBytes reads a byte size such as "512MiB", "1.5GiB", "2G" or "1048576".
// It is not go-humanize's ParseBytes, which accepts fractional bytes and
// thousands separators and computes in float64, inexact near 2^64: sizes
// here are configuration, refused when they are not exactly a size.
//
// A plain integer is a count of bytes. Suffixes are case-insensitive and may
// be separated from the number by spaces: B; KB, MB, GB, TB, PB, EB (and K,
// M, G, T, P, E) are powers of 1000; KiB, MiB, GiB, TiB, PiB, EiB (and Ki,
// Mi, ...) are powers of 1024. A decimal fraction needs a suffix larger than
// a byte and the result is rounded down to whole bytes. Signs, exponents and
// values above math.MaxUint64 are rejected with ErrInvalidSize.
func ParseBytes(s string) (uint64, error) {
	in := strings.TrimSpace(s)
	end := strings.IndexFunc(in, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		end = len(in)
	}
	num, unit := in[:end], strings.ToLower(strings.TrimSpace(in[end:]))
	if num == "" {
		return 0, fmt.Errorf("%w: %q: no leading number", ErrInvalidSize, s)
	}
	mult, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("%w: %q: unknown unit %q (want B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, ...)", ErrInvalidSize, s, in[end:])
	}
	intPart, frac, hasDot := strings.Cut(num, ".")
	if strings.Contains(frac, ".") || (hasDot && frac == "") {
		return 0, fmt.Errorf("%w: %q: malformed number %q", ErrInvalidSize, s, num)
	}
	if !hasDot {
		n, err := strconv.ParseUint(intPart, 10, 64)
		if err != nil || n > math.MaxUint64/mult {
			return 0, fmt.Errorf("%w: %q: exceeds %d bytes", ErrInvalidSize, s, uint64(math.MaxUint64))
		}
		return n * mult, nil
	}
	if mult == 1 {
		return 0, fmt.Errorf("%w: %q: fractional byte count", ErrInvalidSize, s)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("%w: %q: malformed number %q", ErrInvalidSize, s, num)
	}
	r.Mul(r, new(big.Rat).SetUint64(mult))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if !n.IsUint64() {
		return 0, fmt.Errorf("%w: %q: exceeds %d bytes", ErrInvalidSize, s, uint64(math.MaxUint64))
	}
	return n.Uint64(), nil
}

var iecUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// FormatBytes renders b with the largest IEC unit that keeps the value at
// least 1, to at most two decimals ("0B", "1023B", "1.5GiB", "512MiB"). The
// output is accepted by ParseBytes.
func FormatBytes(b uint64) string {
	if b < 1024 {
		return strconv.FormatUint(b, 10) + "B"
	}
	v, i := float64(b), 0
	for v >= 1024 && i < len(iecUnits)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	if s == "1024.00" && i < len(iecUnits)-1 {
		s, i = "1.00", i+1
	}
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + iecUnits[i]
}
