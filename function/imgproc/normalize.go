package imgproc

import (
	"errors"
	"fmt"
)

// ErrShape reports a tensor buffer or row width too small for the image.
var ErrShape = errors.New("imgproc: tensor buffer does not fit image")

// ErrFormula reports an unknown NormFormula.
var ErrFormula = errors.New("imgproc: unknown normalization formula")

// NormFormula names the numpy expression a Normalizer reproduces. The
// reference implementations differ in operation order and precision, and
// each variant rounds a few inputs to a different float32.
type NormFormula int

const (
	// NormDivide is (x.astype(float32)/255 - mean)/std with every step in
	// float32: RapidOCR's and PaddleOCR's rec/cls resize_norm_img
	// ("/ 255; -= 0.5; /= 0.5").
	NormDivide NormFormula = iota
	// NormScale32 is (x.astype(float32)*float32(1/255) - mean)/std with
	// float32 mean and std: PaddleOCR's NormalizeImage (det).
	NormScale32
	// NormScale64 is like NormScale32 but subtracts and divides in float64
	// before the final cast to float32: RapidOCR's DetPreProcess, whose mean
	// and std are float64 arrays and so promote the expression.
	NormScale64
)

// Normalizer maps 8-bit BGR pixels to float32 model input. The result of
// each formula depends only on the channel and the byte, so a 3×256 table
// reproduces the numpy expression bit for bit at one load per sample.
type Normalizer struct {
	lut [3][256]float32
}

// NewNormalizer builds the table for formula f with per-channel mean and std
// in BGR order (mean[0] applies to blue).
func NewNormalizer(f NormFormula, mean, std [3]float64) (*Normalizer, error) {
	n := &Normalizer{}
	const scale = float32(1.0 / 255.0)
	for c := range 3 {
		m32, s32 := float32(mean[c]), float32(std[c])
		for v := range 256 {
			x := float32(v)
			var out float32
			switch f {
			case NormDivide:
				out = (x/255 - m32) / s32
			case NormScale32:
				out = (float32(x*scale) - m32) / s32
			case NormScale64:
				out = float32((float64(x*scale) - mean[c]) / std[c])
			default:
				return nil, fmt.Errorf("%w: %d", ErrFormula, f)
			}
			n.lut[c][v] = out
		}
	}
	return n, nil
}

// CHW writes src into dst as three planes (B, G, R) of src.H rows of dstW
// floats; columns src.W..dstW-1 are left untouched so a caller can pre-fill
// the right padding (RapidOCR pads with 0.0 after normalization). dst must
// hold at least 3*src.H*dstW values.
func (n *Normalizer) CHW(src *Image, dst []float32, dstW int) error {
	if !src.valid() {
		return fmt.Errorf("%w: empty or malformed image", ErrShape)
	}
	if dstW < src.W || dstW > maxPixels/src.H || len(dst) < 3*src.H*dstW {
		return fmt.Errorf("%w: %dx%d image into width %d, buffer %d", ErrShape, src.W, src.H, dstW, len(dst))
	}
	plane := src.H * dstW
	lb, lg, lr := &n.lut[0], &n.lut[1], &n.lut[2]
	bands(src.H, src.W, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := src.Pix[y*src.W*3 : (y+1)*src.W*3]
			o := y * dstW
			pb := dst[o : o+src.W]
			pg := dst[plane+o : plane+o+src.W]
			pr := dst[2*plane+o : 2*plane+o+src.W]
			for x := range pb {
				p := row[x*3 : x*3+3]
				pb[x] = lb[p[0]]
				pg[x] = lg[p[1]]
				pr[x] = lr[p[2]]
			}
		}
	})
	return nil
}

// NormalizeCHW writes (px/255 - mean[c]) / std[c], computed in float32 like
// numpy float32 arrays (NormDivide), into dst as B, G and R planes of src.H
// rows of dstW floats. Columns src.W..dstW-1 are left untouched. If dst is
// shorter than 3*src.H*dstW, dstW < src.W or src is empty, nothing is
// written; Normalizer.CHW reports that case as ErrShape.
func NormalizeCHW(src *Image, dst []float32, dstW int, mean, std [3]float32) {
	n, err := NewNormalizer(NormDivide,
		[3]float64{float64(mean[0]), float64(mean[1]), float64(mean[2])},
		[3]float64{float64(std[0]), float64(std[1]), float64(std[2])})
	if err != nil {
		return
	}
	_ = n.CHW(src, dst, dstW) // documented no-op on ErrShape
}
