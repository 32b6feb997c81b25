package dbnet

import "encoding/binary"

// tracer is cv2.findContours(bitmap, RETR_LIST, CHAIN_APPROX_SIMPLE): the
// Suzuki-Abe raster scan and border following of OpenCV's contours.cpp
// (cvFindNextContour, icvFetchContour), run on a bitmap padded by one zero
// pixel on every side as cv::findContours pads it. Reproducing the scan
// rather than labelling components keeps everything that later steps are
// sensitive to: which contours exist (holes included), their order, and the
// order of their points, which decides ties in cv2.minAreaRect.
type tracer struct {
	// img is the padded (w+2)×(h+2) bitmap holding OpenCV's schar values
	// as bytes: 0 background, 1 foreground, markBorder/markRight traced.
	img        []uint8
	stride     int
	rawA, rawB [][2]int32 // foreground runs of the previous and current row
	pts        []ipt      // points of all contours, unpadded coordinates
	offs       []int32    // contour i is pts[offs[i]:offs[i+1]]
}

// Marks OpenCV's 8-bit tracer leaves on border pixels: nbd = 2, and the
// schar nbd | -128 (negative) on pixels whose right neighbour was examined
// as background.
const (
	markBorder uint8 = 2
	markRight  uint8 = 2 | 0x80
)

// bytePattern repeats b in every byte of a word.
func bytePattern(b uint8) uint64 { return uint64(b) * 0x0101010101010101 }

// bitmap fills the padded image with prob > thresh (numpy compares the
// float32 map with the threshold in float32) and applies cv2.dilate with a
// 2x2 kernel when asked: the kernel's anchor is (1,1), so a pixel is set when
// it or its left, upper or upper-left neighbour is set. Rows are handled as
// runs of foreground so the writes are proportional to the foreground.
func (t *tracer) bitmap(prob []float32, w, h int, thresh float32, dilate bool) {
	t.stride = w + 2
	t.img = grow(t.img, t.stride*(h+2))
	clear(t.img)
	prev, cur := t.rawA[:0], t.rawB[:0]
	for y := 0; y < h; y++ {
		cur = cur[:0]
		inRun, st := false, 0
		for x, v := range prob[y*w : y*w+w] {
			if fg := v > thresh; fg != inRun {
				if fg {
					st = x
				} else {
					cur = append(cur, [2]int32{int32(st), int32(x - 1)})
				}
				inRun = fg
			}
		}
		if inRun {
			cur = append(cur, [2]int32{int32(st), int32(w - 1)})
		}
		out := t.img[(y+1)*t.stride+1 : (y+2)*t.stride-1]
		if dilate {
			setDilated(out, prev, cur)
		} else {
			for _, r := range cur {
				setOnes(out[r[0] : r[1]+1])
			}
		}
		prev, cur = cur, prev
	}
	t.rawA, t.rawB = prev, cur
}

// setDilated sets a row of the dilated bitmap: the union of this row's and
// the previous row's runs, each extended one pixel to the right.
func setDilated(out []uint8, prev, cur [][2]int32) {
	last := int32(len(out) - 1)
	for _, rs := range [2][][2]int32{prev, cur} {
		for _, r := range rs {
			setOnes(out[r[0] : min(r[1]+1, last)+1])
		}
	}
}

func setOnes(b []uint8) {
	for i := range b {
		b[i] = 1
	}
}

// Chain-code neighbours in OpenCV's order: 0 right, then counter-clockwise
// on screen (1 up-right, 2 up, ... 7 down-right).
var (
	codeDX = [8]int{1, 1, 0, -1, -1, -1, 0, 1}
	codeDY = [8]int{0, -1, -1, -1, 0, 1, 1, 1}
)

// scan runs cvFindNextContour's raster scan over the whole bitmap and
// records every contour in discovery order. An outer border starts where an
// unvisited foreground pixel follows background; a hole border where
// background follows a foreground pixel not marked as a right border.
func (t *tracer) scan(w, h int) {
	t.pts = t.pts[:0]
	t.offs = append(t.offs[:0], 0)
	img, stride := t.img, t.stride
	var deltas [16]int
	for s := 0; s < 8; s++ {
		deltas[s] = codeDY[s]*stride + codeDX[s]
		deltas[s+8] = deltas[s]
	}
	width, height := w+1, h+1 // OpenCV excludes the last padded column and row
	for y := 1; y < height; y++ {
		row := img[y*stride : (y+1)*stride]
		prev := uint8(0)
		pat := uint64(0)
		for x := 1; x < width; x++ {
			// Most of a row repeats the previous value: skip it a word
			// at a time.
			for x+8 <= width && binary.LittleEndian.Uint64(row[x:]) == pat {
				x += 8
			}
			if x >= width {
				break
			}
			p := row[x]
			if p == prev {
				continue
			}
			hole := false
			if prev != 0 || p != 1 {
				// schar semantics: marked right borders are negative.
				if p != 0 || int8(prev) < 1 {
					prev, pat = p, bytePattern(p)
					continue
				}
				hole = true
			}
			sx := x
			if hole {
				sx = x - 1
			}
			t.fetch(y*stride+sx, sx-1, y-1, hole, &deltas)
			t.offs = append(t.offs, int32(len(t.pts)))
			// The scan resumes after the start pixel, which tracing may
			// have marked.
			prev = row[x]
			pat = bytePattern(prev)
		}
	}
}

// fetch is icvFetchContour with CHAIN_APPROX_SIMPLE: it follows the border
// from i0 and appends the points where the chain direction changes.
func (t *tracer) fetch(i0, x, y int, hole bool, deltas *[16]int) {
	img := t.img
	s := 4
	if hole {
		s = 0
	}
	sEnd := s
	var i1 int
	for {
		s = (s - 1) & 7
		i1 = i0 + deltas[s]
		if img[i1] != 0 || s == sEnd {
			break
		}
	}
	pt := ipt{int64(x), int64(y)}
	if s == sEnd { // isolated pixel
		img[i0] = markRight
		t.pts = append(t.pts, pt)
		return
	}
	i3 := i0
	prevS := s ^ 4
	for {
		sEnd = s
		var i4 int
		for s < 15 {
			s++
			i4 = i3 + deltas[s]
			if img[i4] != 0 {
				break
			}
		}
		s &= 7
		if uint(s-1) < uint(sEnd) {
			img[i3] = markRight
		} else if img[i3] == 1 {
			img[i3] = markBorder
		}
		if s != prevS {
			t.pts = append(t.pts, pt)
			prevS = s
		}
		pt.x += int64(codeDX[s])
		pt.y += int64(codeDY[s])
		if i4 == i0 && i3 == i1 {
			break
		}
		i3 = i4
		s = (s + 4) & 7
	}
}

// contour returns the points of contour i in OpenCV's order.
func (t *tracer) contour(i int) []ipt {
	return t.pts[t.offs[i]:t.offs[i+1]]
}

// count is the number of contours found.
func (t *tracer) count() int {
	return len(t.offs) - 1
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
