package imageio

import (
	"encoding/binary"
	"fmt"
	"image"
	"io"

	"github.com/ocrhost/ocrhost/function/imgproc"
)

// npyHeader describes a NumPy .npy array of uint8.
//
// RapidOCR hands an ndarray to its converter untouched, so channel meaning
// follows load_image.py's convert_img for ndarray input: 2-D or one channel
// is gray, two are gray+alpha, three are already BGR (OpenCV order, not
// swapped), and four are RGBA (cvt_four_to_three splits them as r, g, b, a).
type npyHeader struct {
	h, w, c int
	fortran bool
	offset  int // start of the array data
}

// parseNPY reads the format described in numpy/lib/format.py: magic,
// version, header length, then a Python dict literal.
func parseNPY(data []byte) (*npyHeader, error) {
	if len(data) < 10 {
		return nil, io.ErrUnexpectedEOF
	}
	var hlen, start int
	switch major := data[6]; major {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, io.ErrUnexpectedEOF
		}
		hlen, start = int(binary.LittleEndian.Uint32(data[8:12])), 12
	default:
		return nil, fmt.Errorf("%w: npy format version %d", ErrUnsupported, major)
	}
	if hlen < 0 || start+hlen > len(data) {
		return nil, io.ErrUnexpectedEOF
	}
	d, err := parsePyDict(data[start : start+hlen])
	if err != nil {
		return nil, fmt.Errorf("%w: npy header: %v", ErrCorrupt, err)
	}
	switch d.descr {
	case "|u1", "u1", "<u1", ">u1", "=u1":
	default:
		return nil, fmt.Errorf("%w: npy dtype %q, need uint8", ErrUnsupported, d.descr)
	}
	h := &npyHeader{fortran: d.fortran, offset: start + hlen, c: 1}
	switch len(d.shape) {
	case 3:
		h.c = d.shape[2]
		if h.c < 1 || h.c > 4 {
			return nil, fmt.Errorf("%w: npy array with %d channels", ErrUnsupported, h.c)
		}
		fallthrough
	case 2:
		h.h, h.w = d.shape[0], d.shape[1]
	default:
		return nil, fmt.Errorf("%w: npy array of %d dimensions", ErrUnsupported, len(d.shape))
	}
	return h, nil
}

// decodeNPY runs after the pixel budget was checked, so h*w*c fits an int.
func decodeNPY(data []byte, h *npyHeader) (*imgproc.Image, error) {
	n := h.h * h.w * h.c
	body := data[h.offset:]
	if len(body) < n {
		return nil, fmt.Errorf("%w: npy needs %d data bytes, has %d", ErrTruncated, n, len(body))
	}
	body = body[:n]
	if h.fortran {
		body = fortranToC(body, h)
	}
	s := samples{pix: body, stride: h.w * h.c, step: h.c, bps: 1, alpha: h.c - 1, w: h.w, h: h.h}
	switch h.c {
	case 1:
		return grayToBGR(s), nil
	case 2:
		return grayAlphaToBGR(s), nil
	case 3:
		out := imgproc.New(h.w, h.h)
		copy(out.Pix, body)
		return out, nil
	}
	return toBGR(&image.NRGBA{Pix: body, Stride: s.stride, Rect: image.Rect(0, 0, h.w, h.h)}, convOpts{alpha: alphaRGBA}), nil
}

// fortranToC reorders a column-major (H, W, C) array to row-major.
func fortranToC(src []byte, h *npyHeader) []byte {
	dst := make([]byte, len(src))
	i := 0
	for k := 0; k < h.c; k++ {
		for x := 0; x < h.w; x++ {
			for y := 0; y < h.h; y++ {
				dst[(y*h.w+x)*h.c+k] = src[i]
				i++
			}
		}
	}
	return dst
}

type pyDict struct {
	descr   string
	fortran bool
	shape   []int
}

// parsePyDict accepts the dict literal numpy writes: exactly the keys
// descr, fortran_order and shape, with a string, a bool and a tuple of
// non-negative ints (Python 2 files may suffix them with L).
func parsePyDict(s []byte) (pyDict, error) {
	p := pyParser{s: s}
	var d pyDict
	seen := map[string]bool{}
	if !p.eat('{') {
		return d, fmt.Errorf("expected '{'")
	}
	for !p.eat('}') {
		key, err := p.str()
		if err != nil {
			return d, err
		}
		if seen[key] {
			return d, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		if !p.eat(':') {
			return d, fmt.Errorf("expected ':' after %q", key)
		}
		switch key {
		case "descr":
			d.descr, err = p.str()
		case "fortran_order":
			d.fortran, err = p.boolean()
		case "shape":
			d.shape, err = p.tuple()
		default:
			return d, fmt.Errorf("unexpected key %q", key)
		}
		if err != nil {
			return d, err
		}
		if !p.eat(',') && !p.peek('}') {
			return d, fmt.Errorf("expected ',' or '}' after %q", key)
		}
	}
	if len(seen) != 3 {
		return d, fmt.Errorf("header has %d of the 3 keys", len(seen))
	}
	return d, nil
}

type pyParser struct {
	s []byte
	i int
}

func (p *pyParser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *pyParser) peek(c byte) bool {
	p.skip()
	return p.i < len(p.s) && p.s[p.i] == c
}

func (p *pyParser) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) str() (string, error) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", fmt.Errorf("expected a string at byte %d", p.i)
	}
	q := p.s[p.i]
	for j := p.i + 1; j < len(p.s); j++ {
		switch p.s[j] {
		case '\\':
			return "", fmt.Errorf("escape in string at byte %d", j)
		case q:
			v := string(p.s[p.i+1 : j])
			p.i = j + 1
			return v, nil
		}
	}
	return "", fmt.Errorf("unterminated string")
}

func (p *pyParser) boolean() (bool, error) {
	p.skip()
	for _, v := range []struct {
		word string
		val  bool
	}{{"True", true}, {"False", false}} {
		if len(p.s)-p.i >= len(v.word) && string(p.s[p.i:p.i+len(v.word)]) == v.word {
			p.i += len(v.word)
			return v.val, nil
		}
	}
	return false, fmt.Errorf("expected True or False at byte %d", p.i)
}

func (p *pyParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, fmt.Errorf("expected '(' at byte %d", p.i)
	}
	var out []int
	for !p.eat(')') {
		if len(out) == 64 {
			return nil, fmt.Errorf("shape has more than 64 dimensions")
		}
		p.skip()
		start, v := p.i, 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			// Saturate: any size past 2^31 is refused by the pixel budget.
			v = min(v*10+int(p.s[p.i]-'0'), 1<<31)
			p.i++
		}
		if p.i == start {
			return nil, fmt.Errorf("expected a dimension at byte %d", p.i)
		}
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		out = append(out, v)
		if !p.eat(',') && !p.peek(')') {
			return nil, fmt.Errorf("expected ',' or ')' at byte %d", p.i)
		}
	}
	return out, nil
}
