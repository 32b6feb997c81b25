package imgproc

import "math"

// OpenCV's fixed-point resize constants (imgproc/src/resize.cpp).
const (
	resizeCoefBits  = 11
	resizeCoefScale = 1 << resizeCoefBits // INTER_RESIZE_COEF_SCALE
)

// maxPixels bounds the images this package allocates so that a nonsensical
// size from upstream yields an empty image instead of a makeslice panic.
const maxPixels = 1 << 28

// valid reports whether m can be read as a W×H BGR image.
func (m *Image) valid() bool {
	return m != nil && m.W > 0 && m.H > 0 && m.W <= maxPixels/m.H && len(m.Pix) >= m.W*m.H*3
}

// sizeOK reports whether a w×h output may be allocated.
func sizeOK(w, h int) bool {
	return w > 0 && h > 0 && w <= maxPixels/h
}

// clone returns a deep copy of a valid image.
func (m *Image) clone() *Image {
	c := New(m.W, m.H)
	copy(c.Pix, m.Pix)
	return c
}

// linearTap is one output pixel of the horizontal pass: the byte offsets of
// the two source pixels and their 11-bit weights. Clamped columns carry
// a1 == 0 and o1 == o0 so the inner loop needs no branch.
type linearTap struct {
	o0, o1 int32
	a0, a1 uint32
}

// linearCoef reproduces the coefficient set-up of cv::hal::resize for
// INTER_LINEAR: the source coordinate is computed in double, narrowed to
// float, split into integer and fraction in float, and each weight is
// saturate_cast<short>(w*2048) (round half to even). The explicit float64
// conversions keep Go from fusing the multiply-add, which C++ built for the
// x86-64 baseline never does.
func linearCoef(dstIdx int, scale float64) (int, float32) {
	f := float32(float64((float64(dstIdx)+0.5)*scale) - 0.5)
	i := int(math.Floor(float64(f)))
	return i, f - float32(i)
}

// fixedWeight is saturate_cast<short>(w * INTER_RESIZE_COEF_SCALE) for the
// weights 0 <= w <= 1 that linear interpolation produces.
func fixedWeight(w float32) uint32 {
	return uint32(math.RoundToEven(float64(w * resizeCoefScale)))
}

// ResizeLinear matches cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR)
// on 8-bit 3-channel images bit for bit: half-pixel centres, 11-bit weights,
// borders clamped, no antialiasing when shrinking. The vertical pass uses the
// arithmetic of OpenCV's VResizeLinearVec_32s8u,
// ((b0*(S0>>4))>>16 + (b1*(S1>>4))>>16 + 2)>>2, which OpenCV 4.x also applies
// to the scalar tail, rather than the textbook (b0*S0+b1*S1+2^21)>>22; the two
// differ by one grey level on some pixels. testdata/golden.json.gz holds
// OpenCV 4.6 (x86-64) outputs that the tests compare against.
//
// OpenCV routes exact 2× downscales through INTER_AREA; for 8-bit images that
// equals (a+b+c+d+2)>>2, which this formula yields too, so no special case is
// needed. Same size returns a copy. An empty or malformed src, or a
// non-positive w or h, gives an empty (0×0) image.
func ResizeLinear(src *Image, w, h int) *Image {
	if !src.valid() || !sizeOK(w, h) {
		return New(0, 0)
	}
	if w == src.W && h == src.H {
		return src.clone()
	}
	dst := New(w, h)
	resizeLinear(dst, src)
	return dst
}

func resizeLinear(dst, src *Image) {
	sw, sh, dw, dh := src.W, src.H, dst.W, dst.H
	// cv::resize derives inv_scale = dsize/ssize and hal::resize inverts it;
	// keeping both divisions reproduces the exact double OpenCV uses.
	scaleX := 1 / (float64(dw) / float64(sw))
	scaleY := 1 / (float64(dh) / float64(sh))

	taps := make([]linearTap, dw)
	for dx := range taps {
		sx, fx := linearCoef(dx, scaleX)
		if sx < 0 {
			sx, fx = 0, 0
		}
		if sx >= sw-1 {
			sx, fx = sw-1, 0
		}
		t := linearTap{o0: int32(sx * 3), a0: fixedWeight(1 - fx), a1: fixedWeight(fx)}
		t.o1 = t.o0 + 3
		if t.a1 == 0 {
			t.o1 = t.o0
		}
		taps[dx] = t
	}

	bands(dh, dw, func(y0, y1 int) { resizeRows(dst, src, taps, scaleY, y0, y1) })
}

// resizeRows writes dst's rows y0..y1-1; each band keeps its own two rows
// of the horizontal pass, so bands run side by side.
func resizeRows(dst, src *Image, taps []linearTap, scaleY float64, y0, y1 int) {
	sw, sh := src.W, src.H
	rowLen := dst.W * 3
	words := (rowLen + 1) / 2
	buf := make([]uint64, 2*words)
	rows := [2][]uint64{buf[:words], buf[words:]}
	have := [2]int{-1, -1} // the source row whose horizontal pass rows[k] holds

	for dy := y0; dy < y1; dy++ {
		// The vertical weights come from the unclamped position; only the row
		// indices are clamped (resizeGeneric_Invoker's clip()).
		sy, fy := linearCoef(dy, scaleY)
		b0, b1 := fixedWeight(1-fy), fixedWeight(fy)
		want := [2]int{clampInt(sy, 0, sh-1), clampInt(sy+1, 0, sh-1)}
		if have[0] != want[0] && have[1] == want[0] {
			// Moving down one source row: the old lower row is the new upper one.
			rows[0], rows[1] = rows[1], rows[0]
			have[0], have[1] = have[1], have[0]
		}
		for k := range 2 {
			if have[k] != want[k] {
				r := want[k] * sw * 3
				hresize(rows[k], src.Pix[r:r+sw*3], taps)
				have[k] = want[k]
			}
		}
		vresize(dst.Pix[dy*rowLen:(dy+1)*rowLen], rows[0], rows[1], uint64(b0), uint64(b1))
	}
}

// hresize is HResizeLinear for uchar→int, whose sums a0*p + a1*q are exact.
// The vertical pass only ever reads S>>4, so that is what is stored, packed
// two elements per uint64 (element 2k in the low half of word k, 2k+1 in the
// high half) for vresize's two-lane arithmetic.
func hresize(d []uint64, s []uint8, taps []linearTap) {
	sum := func(t *linearTap) (uint64, uint64, uint64) {
		p := (*[3]uint8)(s[t.o0:])
		q := (*[3]uint8)(s[t.o1:])
		return uint64((uint32(p[0])*t.a0 + uint32(q[0])*t.a1) >> 4),
			uint64((uint32(p[1])*t.a0 + uint32(q[1])*t.a1) >> 4),
			uint64((uint32(p[2])*t.a0 + uint32(q[2])*t.a1) >> 4)
	}
	i := 0
	for ; i+1 < len(taps); i += 2 {
		e0, e1, e2 := sum(&taps[i])
		e3, e4, e5 := sum(&taps[i+1])
		w := (*[3]uint64)(d[3*i/2:])
		w[0], w[1], w[2] = e0|e1<<32, e2|e3<<32, e4|e5<<32
	}
	if i < len(taps) {
		e0, e1, e2 := sum(&taps[i])
		w := (*[2]uint64)(d[3*i/2:])
		w[0], w[1] = e0|e1<<32, e2
	}
}

// vresize is OpenCV's VResizeLinear<uchar,int,short> in the form of its SIMD
// kernel, ((b0*(S0>>4))>>16 + (b1*(S1>>4))>>16 + 2)>>2, two elements per
// uint64. Lanes cannot carry into each other: S>>4 < 2^15 and b <= 2049, so
// each product stays below 2^27, and each lane sum below 2^11.
func vresize(d []uint8, s0, s1 []uint64, b0, b1 uint64) {
	const (
		lanes = 0x0000ffff_0000ffff
		round = 0x00000002_00000002
	)
	n := (len(d) + 1) / 2
	s0, s1 = s0[:n], s1[:n]
	pairs := len(d) / 2
	for k := range pairs {
		v := ((s0[k]*b0>>16)&lanes + (s1[k]*b1>>16)&lanes + round) >> 2
		o := (*[2]uint8)(d[2*k:])
		o[0], o[1] = uint8(v), uint8(v>>32)
	}
	if pairs < n {
		d[2*pairs] = uint8(((s0[pairs]*b0>>16)&lanes + (s1[pairs]*b1>>16)&lanes + round) >> 2)
	}
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
