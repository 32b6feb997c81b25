package imgproc

import (
	"errors"
	"fmt"
	"math"
)

// ErrSingular reports four points that define no perspective transform
// (three of them collinear, or coincident).
var ErrSingular = errors.New("imgproc: singular perspective transform")

// OpenCV's remap constants (imgproc.hpp, imgwarp.cpp).
const (
	interBits         = 5
	interTabSize      = 1 << interBits // INTER_TAB_SIZE: 1/32-pixel map quantisation
	remapCoefBits     = 15
	remapCoefScale    = 1 << remapCoefBits // INTER_REMAP_COEF_SCALE
	warpBlockSize     = 32                 // WarpPerspectiveInvoker's BLOCK_SZ
	luEpsilon         = 100 * 0x1p-52      // DBL_EPSILON*100, LUImpl<double>'s pivot threshold
	cubicA            = float32(-0.75)
	cubicTabEntries   = interTabSize * interTabSize
	cubicKernelLength = 4
)

// PerspectiveTransform is cv2.getPerspectiveTransform with its default
// DECOMP_LU solve: the 3×3 matrix (row-major, M[8] == 1) that maps each
// src[i] onto dst[i]. Coordinates are narrowed to float32 first, as cv2
// requires float32 points and builds the -x·u products in float; the 8×8
// system is then solved by OpenCV's partially pivoted LU in float64, so the
// result matches cv2 to the last bit on x86-64.
func PerspectiveTransform(src, dst [4][2]float64) ([9]float64, error) {
	var a [8][8]float64
	var b [8]float64
	for i := range 4 {
		x, y := float32(src[i][0]), float32(src[i][1])
		u, v := float32(dst[i][0]), float32(dst[i][1])
		a[i] = [8]float64{float64(x), float64(y), 1, 0, 0, 0, float64(-x * u), float64(-y * u)}
		a[i+4] = [8]float64{0, 0, 0, float64(x), float64(y), 1, float64(-x * v), float64(-y * v)}
		b[i], b[i+4] = float64(u), float64(v)
	}
	var m [9]float64
	if !luSolve8(&a, &b) {
		return m, fmt.Errorf("%w: points %v -> %v", ErrSingular, src, dst)
	}
	copy(m[:8], b[:])
	m[8] = 1
	for _, c := range m {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return m, fmt.Errorf("%w: points %v -> %v", ErrSingular, src, dst)
		}
	}
	return m, nil
}

// luSolve8 is OpenCV's LUImpl<double> (core/src/matrix_decomp.cpp) for one
// right-hand side; b receives the solution. The float64 conversions around
// products stop Go from fusing multiply-adds, which OpenCV's x86-64 build
// does not do either.
func luSolve8(a *[8][8]float64, b *[8]float64) bool {
	const m = 8
	for i := range m {
		k := i
		for j := i + 1; j < m; j++ {
			if math.Abs(a[j][i]) > math.Abs(a[k][i]) {
				k = j
			}
		}
		if !(math.Abs(a[k][i]) >= luEpsilon) { // also rejects NaN
			return false
		}
		if k != i {
			for j := i; j < m; j++ {
				a[i][j], a[k][j] = a[k][j], a[i][j]
			}
			b[i], b[k] = b[k], b[i]
		}
		d := -1 / a[i][i]
		for j := i + 1; j < m; j++ {
			alpha := a[j][i] * d
			for c := i + 1; c < m; c++ {
				a[j][c] += float64(alpha * a[i][c])
			}
			b[j] += float64(alpha * b[i])
		}
	}
	for i := m - 1; i >= 0; i-- {
		s := b[i]
		for c := i + 1; c < m; c++ {
			s -= float64(a[i][c] * b[c])
		}
		b[i] = s / a[i][i]
	}
	return true
}

// invert3 is cv::invert(DECOMP_LU) for a 3×3 double matrix, which OpenCV
// computes from the adjugate and the determinant rather than by LU.
func invert3(s [9]float64) ([9]float64, bool) {
	p := func(a, b float64) float64 { return float64(a * b) }
	d := float64(s[0]*(p(s[4], s[8])-p(s[5], s[7]))) -
		float64(s[1]*(p(s[3], s[8])-p(s[5], s[6]))) +
		float64(s[2]*(p(s[3], s[7])-p(s[4], s[6])))
	if d == 0 || math.IsNaN(d) {
		return [9]float64{}, false
	}
	d = 1 / d
	return [9]float64{
		(p(s[4], s[8]) - p(s[5], s[7])) * d,
		(p(s[2], s[7]) - p(s[1], s[8])) * d,
		(p(s[1], s[5]) - p(s[2], s[4])) * d,
		(p(s[5], s[6]) - p(s[3], s[8])) * d,
		(p(s[0], s[8]) - p(s[2], s[6])) * d,
		(p(s[2], s[3]) - p(s[0], s[5])) * d,
		(p(s[3], s[7]) - p(s[4], s[6])) * d,
		(p(s[1], s[6]) - p(s[0], s[7])) * d,
		(p(s[0], s[4]) - p(s[1], s[3])) * d,
	}, true
}

// cubicTab holds OpenCV's fixed-point bicubic weights (BicubicTab_i): for
// each 1/32-pixel fraction pair (fy*32+fx) a 4×4 kernel, rows by y tap,
// summing to 32768.
var cubicTab = buildCubicTab()

// interpolateCubic is OpenCV's Keys kernel (a = -0.75) evaluated in float32
// exactly as imgwarp.cpp writes it, one rounding per operation: every
// product is converted explicitly so Go cannot fuse it into the following
// addition.
func interpolateCubic(x float32) [cubicKernelLength]float32 {
	x1 := x + 1
	t := float32(cubicA*x1) - 5*cubicA
	t = float32(t*x1) + 8*cubicA
	c0 := float32(t*x1) - 4*cubicA

	t = float32((cubicA+2)*x) - (cubicA + 3)
	c1 := float32(float32(t*x)*x) + 1

	u := 1 - x
	t = float32((cubicA+2)*u) - (cubicA + 3)
	c2 := float32(float32(t*u)*u) + 1

	return [cubicKernelLength]float32{c0, c1, c2, 1 - c0 - c1 - c2}
}

// buildCubicTab follows initInterTab2D(INTER_CUBIC, fixpt=true), including
// its saturation of the weight 1.0 to 32767 and its repair of the rounding
// residue on the largest or smallest weight of the lower-right 2×2 block.
func buildCubicTab() *[cubicTabEntries][16]int16 {
	var k1d [interTabSize][cubicKernelLength]float32
	for i := range k1d {
		k1d[i] = interpolateCubic(float32(i) * (1.0 / interTabSize))
	}
	tab := new([cubicTabEntries][16]int16)
	for i := range interTabSize {
		for j := range interTabSize {
			w := &tab[i*interTabSize+j]
			isum := 0
			for ky := range cubicKernelLength {
				for kx := range cubicKernelLength {
					v := k1d[i][ky] * k1d[j][kx]
					q := math.RoundToEven(float64(v * remapCoefScale))
					q = math.Max(math.MinInt16, math.Min(math.MaxInt16, q))
					w[ky*4+kx] = int16(q)
					isum += int(q)
				}
			}
			if diff := isum - remapCoefScale; diff != 0 {
				minK, maxK := 2*4+2, 2*4+2
				for ky := 2; ky < 4; ky++ {
					for kx := 2; kx < 4; kx++ {
						k := ky*4 + kx
						if w[k] < w[minK] {
							minK = k
						} else if w[k] > w[maxK] {
							maxK = k
						}
					}
				}
				if diff < 0 {
					w[maxK] -= int16(diff)
				} else {
					w[minK] -= int16(diff)
				}
			}
		}
	}
	return tab
}

// WarpPerspective crops the quadrilateral quad (top-left, top-right,
// bottom-right, bottom-left, in src pixel coordinates) into a w×h image:
//
//	M = cv2.getPerspectiveTransform(quad, [[0,0],[w,0],[w,h],[0,h]])
//	cv2.warpPerspective(src, M, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
//
// It reproduces OpenCV bit for bit on x86-64 (testdata/golden.json.gz holds
// OpenCV 4.6 outputs the tests compare against): the inverse map is evaluated in
// float64 with OpenCV's 32-pixel-block bookkeeping, rounded to 1/32 pixel,
// and sampled with OpenCV's 15-bit fixed-point bicubic table (Keys,
// a = -0.75). A degenerate quad gives a black w×h image; a non-positive w or
// h, or an empty src, gives an empty image.
func WarpPerspective(src *Image, quad [4][2]float64, w, h int) *Image {
	if !src.valid() || !sizeOK(w, h) {
		return New(0, 0)
	}
	dst := New(w, h)
	fw, fh := float64(w), float64(h)
	m, err := PerspectiveTransform(quad, [4][2]float64{{0, 0}, {fw, 0}, {fw, fh}, {0, fh}})
	if err != nil {
		return dst
	}
	inv, ok := invert3(m)
	if !ok {
		return dst
	}
	warpCubic(dst, src, &inv)
	return dst
}

// warpCubic is WarpPerspectiveInvoker + remapBicubic<uchar> with
// BORDER_REPLICATE; m is the dst→src map.
func warpCubic(dst, src *Image, m *[9]float64) {
	sw, sh := src.W, src.H
	stride := sw * 3
	// OpenCV evaluates the map per block of up to 32×32 pixels, starting each
	// block row from M[0]*blockX, so the block width is part of the numerics.
	bh0 := min(warpBlockSize/2, dst.H)
	bw0 := min(warpBlockSize*warpBlockSize/bh0, dst.W)
	for y := 0; y < dst.H; y++ {
		fy := float64(y)
		out := dst.Pix[y*dst.W*3 : (y+1)*dst.W*3]
		for bx := 0; bx < dst.W; bx += bw0 {
			bw := min(bw0, dst.W-bx)
			fbx := float64(bx)
			x0 := float64(m[0]*fbx) + float64(m[1]*fy) + m[2]
			y0 := float64(m[3]*fbx) + float64(m[4]*fy) + m[5]
			w0 := float64(m[6]*fbx) + float64(m[7]*fy) + m[8]
			for x1 := range bw {
				fx1 := float64(x1)
				wd := w0 + float64(m[6]*fx1)
				if wd != 0 {
					wd = interTabSize / wd
				}
				X := roundToInt32(float64(x0+float64(m[0]*fx1)) * wd)
				Y := roundToInt32(float64(y0+float64(m[3]*fx1)) * wd)
				sx := int(saturateInt16(X>>interBits)) - 1
				sy := int(saturateInt16(Y>>interBits)) - 1
				wt := &cubicTab[(Y&(interTabSize-1))*interTabSize+(X&(interTabSize-1))]
				o := (*[3]uint8)(out[(bx+x1)*3:])
				if uint(sx) < uint(max(sw-3, 0)) && uint(sy) < uint(max(sh-3, 0)) {
					cubicInterior(o, src.Pix[sy*stride+sx*3:], stride, wt)
				} else {
					cubicBorder(o, src, sx, sy, wt)
				}
			}
		}
	}
}

// cubicInterior applies the 4×4 kernel whose top-left tap is s[0].
func cubicInterior(o *[3]uint8, s []uint8, stride int, wt *[16]int16) {
	var b, g, r int32
	for ky := range 4 {
		p := (*[12]uint8)(s[ky*stride:])
		k := (*[4]int16)(wt[ky*4:])
		k0, k1, k2, k3 := int32(k[0]), int32(k[1]), int32(k[2]), int32(k[3])
		b += int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2 + int32(p[9])*k3
		g += int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2 + int32(p[10])*k3
		r += int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2 + int32(p[11])*k3
	}
	o[0], o[1], o[2] = castRemap(b), castRemap(g), castRemap(r)
}

// cubicBorder is the same kernel with taps clamped into the image.
func cubicBorder(o *[3]uint8, src *Image, sx, sy int, wt *[16]int16) {
	var b, g, r int32
	for ky := range 4 {
		yy := clampInt(sy+ky, 0, src.H-1)
		for kx := range 4 {
			xx := clampInt(sx+kx, 0, src.W-1)
			c := int32(wt[ky*4+kx])
			p := src.Pix[(yy*src.W+xx)*3 : (yy*src.W+xx)*3+3]
			b += int32(p[0]) * c
			g += int32(p[1]) * c
			r += int32(p[2]) * c
		}
	}
	o[0], o[1], o[2] = castRemap(b), castRemap(g), castRemap(r)
}

// castRemap is FixedPtCast<int, uchar, INTER_REMAP_COEF_BITS>.
func castRemap(v int32) uint8 {
	v = (v + 1<<(remapCoefBits-1)) >> remapCoefBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// roundToInt32 is saturate_cast<int>(clamp(v, INT_MIN, INT_MAX)) as
// OpenCV's SSE path computes it: round half to even, NaN to INT_MIN.
func roundToInt32(v float64) int {
	switch {
	case math.IsNaN(v):
		return math.MinInt32
	case v >= math.MaxInt32:
		return math.MaxInt32
	case v <= math.MinInt32:
		return math.MinInt32
	}
	// Adding and removing 1.5·2^52 rounds to an integer with ties to even
	// (IEEE default rounding) for |v| < 2^51, far cheaper than
	// math.RoundToEven without SSE4.1.
	const magic = 3 << 51
	return int(float64(v+magic) - magic)
}

func saturateInt16(v int) int16 {
	return int16(clampInt(v, math.MinInt16, math.MaxInt16))
}
