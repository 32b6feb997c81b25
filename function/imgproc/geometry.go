package imgproc

// Rotate90CCW rotates src a quarter turn counter-clockwise, like np.rot90(img)
// on an HWC array: the result is src.H wide and src.W high, and its pixel
// (x, y) is src's pixel (src.W-1-y, x). An empty src gives an empty image.
func Rotate90CCW(src *Image) *Image {
	if !src.valid() {
		return New(0, 0)
	}
	w, h := src.W, src.H
	dst := New(h, w)
	for sy := 0; sy < h; sy++ {
		row := src.Pix[sy*w*3 : (sy+1)*w*3]
		// Source row sy becomes destination column sy, read bottom-up.
		for sx := 0; sx < w; sx++ {
			d := ((w-1-sx)*h + sy) * 3
			copy(dst.Pix[d:d+3], row[sx*3:sx*3+3])
		}
	}
	return dst
}

// Rotate180 is cv2.rotate(img, cv2.ROTATE_180). An empty src gives an empty
// image.
func Rotate180(src *Image) *Image {
	if !src.valid() {
		return New(0, 0)
	}
	n := src.W * src.H
	dst := New(src.W, src.H)
	for i := range n {
		s := src.Pix[i*3 : i*3+3]
		d := dst.Pix[(n-1-i)*3 : (n-i)*3]
		d[0], d[1], d[2] = s[0], s[1], s[2]
	}
	return dst
}

// PadVertical adds top black rows above src and bottom black rows below it,
// as RapidOCR's add_round_letterbox does (cv2.copyMakeBorder with
// BORDER_CONSTANT 0 on top and bottom only). Negative counts are treated as
// zero; an empty src gives an empty image.
func PadVertical(src *Image, top, bottom int) *Image {
	if !src.valid() {
		return New(0, 0)
	}
	top, bottom = max(top, 0), max(bottom, 0)
	if !sizeOK(src.W, src.H+top+bottom) {
		return New(0, 0)
	}
	dst := New(src.W, src.H+top+bottom)
	copy(dst.Pix[top*src.W*3:], src.Pix[:src.W*src.H*3])
	return dst
}
