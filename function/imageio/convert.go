package imageio

import (
	"image"
	"image/color"

	"github.com/ocrhost/ocrhost/function/imgproc"
)

// alphaMode says what an alpha channel in the decoded image means, which
// depends on the PIL mode RapidOCR would have seen, not on Go's image type
// (Go decodes a gray+alpha PNG into *image.NRGBA).
type alphaMode uint8

const (
	alphaRGBA   alphaMode = iota // PIL "RGBA" (or "P" with transparency): cvt_four_to_three
	alphaGray                    // PIL "LA": cvt_two_to_three
	alphaIgnore                  // PIL "L"/"RGB": Go turned a tRNS chunk into alpha, PIL does not
)

type convOpts struct {
	alpha alphaMode
	// studio marks YCbCr planes holding VP8 (WebP) video-range BT.601
	// values; Go labels them image.YCbCr, whose JFIF full-range formula
	// would cost the page about 14% of its contrast.
	studio bool
}

// samples views interleaved 8- or 16-bit pixels; 16-bit samples are big
// endian, so the high byte comes first and reading it scales to 8 bit the
// way PIL does (truncation).
type samples struct {
	pix    []byte
	stride int // bytes per row
	step   int // bytes per pixel
	bps    int // bytes per sample
	alpha  int // channel index of alpha; colour channels start at 0
	w, h   int
}

// px returns pixel (x, y); channel c is at px[c*s.bps].
func (s samples) px(x, y int) []byte { return s.pix[y*s.stride+x*s.step:] }

func (s samples) opaque() bool {
	a := s.alpha * s.bps
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			if s.px(x, y)[a] != 0xff {
				return false
			}
		}
	}
	return true
}

func grayToBGR(s samples) *imgproc.Image {
	out := imgproc.New(s.w, s.h)
	d := out.Pix
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			v := s.px(x, y)[0]
			d[0], d[1], d[2] = v, v, v
			d = d[3:]
		}
	}
	return out
}

func rgbToBGR(s samples) *imgproc.Image {
	out := imgproc.New(s.w, s.h)
	d := out.Pix
	g, b := s.bps, 2*s.bps
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			p := s.px(x, y)
			d[0], d[1], d[2] = p[b], p[g], p[0]
			d = d[3:]
		}
	}
	return out
}

// grayAlphaToBGR is RapidOCR's cvt_two_to_three: gray masked by alpha≠0,
// then a saturating add of 255-alpha, i.e. compositing on white for binary
// alpha.
func grayAlphaToBGR(s samples) *imgproc.Image {
	out := imgproc.New(s.w, s.h)
	d := out.Pix
	ai := s.alpha * s.bps
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			p := s.px(x, y)
			a := p[ai]
			v := 255 - int(a)
			if a != 0 {
				v = min(255, v+int(p[0]))
			}
			d[0], d[1], d[2] = byte(v), byte(v), byte(v)
			d = d[3:]
		}
	}
	return out
}

// rgbaToBGR is RapidOCR 1.4's cvt_four_to_three: colour masked by alpha≠0;
// if everything visible is black the page is dark text on transparency and
// gets a white background (add 255-alpha), otherwise the text is light and
// the whole image is inverted, so both come out dark on light.
func rgbaToBGR(s samples) *imgproc.Image {
	ai, g, b := s.alpha*s.bps, s.bps, 2*s.bps
	allBlack := true
scan:
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			if p := s.px(x, y); p[ai] != 0 && p[0]|p[g]|p[b] != 0 {
				allBlack = false
				break scan
			}
		}
	}
	out := imgproc.New(s.w, s.h)
	d := out.Pix
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			p := s.px(x, y)
			a := p[ai]
			switch {
			case a == 0:
				d[0], d[1], d[2] = 255, 255, 255
			case allBlack:
				d[0], d[1], d[2] = 255-a, 255-a, 255-a
			default:
				d[0], d[1], d[2] = 255-p[b], 255-p[g], 255-p[0]
			}
			d = d[3:]
		}
	}
	return out
}

// withAlpha converts a straight-alpha RGBA view. RapidOCR 1.4 would also
// invert an RGBA image whose alpha is all 255 (its mean is non-zero), which
// turns an ordinary screenshot into light-on-dark text; RapidOCR 3 and
// cv2.imread leave such an image unchanged, and so do we.
func withAlpha(s samples, mode alphaMode) *imgproc.Image {
	switch {
	case mode == alphaIgnore || s.opaque():
		return rgbToBGR(s)
	case mode == alphaGray:
		return grayAlphaToBGR(s)
	default:
		return rgbaToBGR(s)
	}
}

func nrgbaSamples(pix []byte, stride int, r image.Rectangle, bps int) samples {
	return samples{pix: pix, stride: stride, step: 4 * bps, bps: bps, alpha: 3, w: r.Dx(), h: r.Dy()}
}

// toBGR converts a decoded image, with fast paths for the types Go's
// decoders return; the generic path boxes every pixel in a color.Color.
func toBGR(m image.Image, c convOpts) *imgproc.Image {
	b := m.Bounds()
	switch s := m.(type) {
	case *image.YCbCr:
		if b.Min.X >= 0 && b.Min.Y >= 0 {
			return ycbcrToBGR(s, c.studio)
		}
	case *image.NYCbCrA:
		if b.Min.X >= 0 && b.Min.Y >= 0 {
			return nycbcraToBGR(s, c)
		}
	case *image.Gray:
		return grayToBGR(samples{pix: s.Pix[s.PixOffset(b.Min.X, b.Min.Y):], stride: s.Stride, step: 1, bps: 1, w: b.Dx(), h: b.Dy()})
	case *image.Gray16:
		return grayToBGR(samples{pix: s.Pix[s.PixOffset(b.Min.X, b.Min.Y):], stride: s.Stride, step: 2, bps: 2, w: b.Dx(), h: b.Dy()})
	case *image.NRGBA:
		return withAlpha(nrgbaSamples(s.Pix[s.PixOffset(b.Min.X, b.Min.Y):], s.Stride, b, 1), c.alpha)
	case *image.NRGBA64:
		return withAlpha(nrgbaSamples(s.Pix[s.PixOffset(b.Min.X, b.Min.Y):], s.Stride, b, 2), c.alpha)
	case *image.RGBA:
		// Premultiplied: only usable as is when opaque or alpha is ignored.
		v := nrgbaSamples(s.Pix[s.PixOffset(b.Min.X, b.Min.Y):], s.Stride, b, 1)
		if c.alpha == alphaIgnore || v.opaque() {
			return rgbToBGR(v)
		}
	case *image.RGBA64:
		v := nrgbaSamples(s.Pix[s.PixOffset(b.Min.X, b.Min.Y):], s.Stride, b, 2)
		if c.alpha == alphaIgnore || v.opaque() {
			return rgbToBGR(v)
		}
	case *image.CMYK:
		return cmykToBGR(s)
	case *image.Paletted:
		return palettedToBGR(s, c)
	}
	n := toNRGBA(m)
	return withAlpha(nrgbaSamples(n.Pix, n.Stride, n.Rect, 1), c.alpha)
}

// toNRGBA is the slow generic path: straight alpha, 8 bit.
func toNRGBA(m image.Image) *image.NRGBA {
	b := m.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			n.SetNRGBA(x-b.Min.X, y-b.Min.Y, color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA))
		}
	}
	return n
}

func palettedToBGR(s *image.Paletted, c convOpts) *imgproc.Image {
	// Indices past the palette (decoders reject them, hand-built images
	// may not) read as opaque black instead of panicking.
	var lut [256]color.NRGBA
	for i := range lut {
		lut[i].A = 0xff
	}
	for i, pc := range s.Palette[:min(len(s.Palette), 256)] {
		lut[i] = color.NRGBAModel.Convert(pc).(color.NRGBA)
	}
	b := s.Bounds()
	w, h := b.Dx(), b.Dy()
	transparent := false
	if c.alpha != alphaIgnore {
		for y := b.Min.Y; y < b.Max.Y && !transparent; y++ {
			for _, i := range s.Pix[s.PixOffset(b.Min.X, y):s.PixOffset(b.Max.X, y)] {
				if lut[i].A != 0xff {
					transparent = true
					break
				}
			}
		}
	}
	if transparent {
		n := image.NewNRGBA(image.Rect(0, 0, w, h))
		d := n.Pix
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for _, i := range s.Pix[s.PixOffset(b.Min.X, y):s.PixOffset(b.Max.X, y)] {
				p := lut[i]
				d[0], d[1], d[2], d[3] = p.R, p.G, p.B, p.A
				d = d[4:]
			}
		}
		return rgbaToBGR(nrgbaSamples(n.Pix, n.Stride, n.Rect, 1))
	}
	out := imgproc.New(w, h)
	d := out.Pix
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for _, i := range s.Pix[s.PixOffset(b.Min.X, y):s.PixOffset(b.Max.X, y)] {
			p := lut[i]
			d[0], d[1], d[2] = p.B, p.G, p.R
			d = d[3:]
		}
	}
	return out
}

func cmykToBGR(s *image.CMYK) *imgproc.Image {
	b := s.Bounds()
	out := imgproc.New(b.Dx(), b.Dy())
	d := out.Pix
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := s.Pix[s.PixOffset(b.Min.X, y):s.PixOffset(b.Max.X, y)]
		for len(row) >= 4 {
			// color.CMYKToRGB's arithmetic, inlined.
			w := 0xffff - uint32(row[3])*0x101
			d[2] = uint8((0xffff - uint32(row[0])*0x101) * w / 0xffff >> 8)
			d[1] = uint8((0xffff - uint32(row[1])*0x101) * w / 0xffff >> 8)
			d[0] = uint8((0xffff - uint32(row[2])*0x101) * w / 0xffff >> 8)
			row, d = row[4:], d[3:]
		}
	}
	return out
}

// chromaShift gives log2 of the horizontal and vertical chroma subsampling.
func chromaShift(r image.YCbCrSubsampleRatio) (hs, vs uint) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 1, 0
	case image.YCbCrSubsampleRatio420:
		return 1, 1
	case image.YCbCrSubsampleRatio440:
		return 0, 1
	case image.YCbCrSubsampleRatio411:
		return 2, 0
	case image.YCbCrSubsampleRatio410:
		return 2, 1
	}
	return 0, 0
}

// ycbcrToBGR indexes chroma like YCbCr.COffset but without its per-pixel
// switch; coordinates must be non-negative so that shifts equal Go's
// division (toBGR sends other images down the generic path).
func ycbcrToBGR(s *image.YCbCr, studio bool) *imgproc.Image {
	b := s.Bounds()
	w := b.Dx()
	out := imgproc.New(w, b.Dy())
	hs, vs := chromaShift(s.SubsampleRatio)
	cx0 := b.Min.X >> hs
	for y := b.Min.Y; y < b.Max.Y; y++ {
		yrow := s.Y[s.YOffset(b.Min.X, y):][:w]
		crow := (y>>vs - b.Min.Y>>vs) * s.CStride
		d := out.Pix[(y-b.Min.Y)*3*w:][:3*w]
		if studio {
			bt601Row(d, yrow, s.Cb[crow:], s.Cr[crow:], b.Min.X, hs, cx0)
		} else {
			jfifRow(d, yrow, s.Cb[crow:], s.Cr[crow:], b.Min.X, hs, cx0)
		}
	}
	return out
}

// jfifRow converts one row with color.YCbCrToRGB's fixed-point arithmetic,
// written out because the library function is not inlined and the call
// cost as much as the arithmetic. Horizontally subsampled rows (4:2:0 and
// 4:2:2, nearly every JPEG) share the chroma terms between pixel pairs.
func jfifRow(d, yrow, cb, cr []byte, x0 int, hs uint, cx0 int) {
	x := 0
	if hs == 1 && x0&1 == 0 {
		for ; x+1 < len(yrow); x += 2 {
			cb1 := int32(cb[x>>1]) - 128
			cr1 := int32(cr[x>>1]) - 128
			bb, gg, rr := 116130*cb1, -22554*cb1-46802*cr1, 91881*cr1
			y0, y1 := int32(yrow[x])*0x10101, int32(yrow[x+1])*0x10101
			p := d[3*x : 3*x+6 : 3*x+6]
			p[0], p[1], p[2] = clamp16(y0+bb), clamp16(y0+gg), clamp16(y0+rr)
			p[3], p[4], p[5] = clamp16(y1+bb), clamp16(y1+gg), clamp16(y1+rr)
		}
	}
	for ; x < len(yrow); x++ {
		ci := (x0+x)>>hs - cx0
		cb1 := int32(cb[ci]) - 128
		cr1 := int32(cr[ci]) - 128
		y1 := int32(yrow[x]) * 0x10101
		p := d[3*x : 3*x+3 : 3*x+3]
		p[0] = clamp16(y1 + 116130*cb1)
		p[1] = clamp16(y1 - 22554*cb1 - 46802*cr1)
		p[2] = clamp16(y1 + 91881*cr1)
	}
}

func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

// bt601Row is libwebp's video-range conversion (dsp/yuv.h): Y in 16–235,
// chroma in 16–240, 14-bit fixed point after a mulhi keeping 8 fractional
// bits, so WebP pages come out as PIL (libwebp) renders them.
func bt601Row(d, yrow, cb, cr []byte, x0 int, hs uint, cx0 int) {
	for x, yy := range yrow {
		ci := (x0+x)>>hs - cx0
		y1 := int32(yy) * 19077 >> 8
		u, v := int32(cb[ci]), int32(cr[ci])
		p := d[3*x : 3*x+3]
		p[0] = clip6(y1 + u*33050>>8 - 17685)
		p[1] = clip6(y1 - u*6419>>8 - v*13320>>8 + 8708)
		p[2] = clip6(y1 + v*26149>>8 - 14234)
	}
}

func clip6(v int32) uint8 {
	if v&^0x3fff == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// nycbcraToBGR handles lossy WebP with alpha.
func nycbcraToBGR(s *image.NYCbCrA, c convOpts) *imgproc.Image {
	b := s.Bounds()
	a := samples{pix: s.A[s.AOffset(b.Min.X, b.Min.Y):], stride: s.AStride, step: 1, bps: 1, w: b.Dx(), h: b.Dy()}
	bgr := ycbcrToBGR(&s.YCbCr, c.studio)
	if c.alpha == alphaIgnore || a.opaque() {
		return bgr
	}
	n := image.NewNRGBA(image.Rect(0, 0, a.w, a.h))
	d, src := n.Pix, bgr.Pix
	for y := 0; y < a.h; y++ {
		for x := 0; x < a.w; x++ {
			d[0], d[1], d[2], d[3] = src[2], src[1], src[0], a.px(x, y)[0]
			d, src = d[4:], src[3:]
		}
	}
	return withAlpha(nrgbaSamples(n.Pix, n.Stride, n.Rect, 1), c.alpha)
}
