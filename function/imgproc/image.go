// Package imgproc holds the pixel operations the PP-OCR pipeline needs,
// written to match OpenCV's numerics (cv2.resize INTER_LINEAR,
// cv2.warpPerspective INTER_CUBIC) because the models were trained and
// thresholds tuned on OpenCV output; a generic resampler gives other pixels.
package imgproc

// Image is an 8-bit, 3-channel image in OpenCV's BGR order, rows packed
// (stride W*3). All PP-OCR models take BGR planes.
type Image struct {
	W, H int
	Pix  []uint8
}

// New returns a black w×h image.
func New(w, h int) *Image {
	return &Image{W: w, H: h, Pix: make([]uint8, w*h*3)}
}

// Offset is the index of pixel (x, y)'s blue byte in Pix.
func (m *Image) Offset(x, y int) int { return (y*m.W + x) * 3 }
