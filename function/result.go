package function

import "time"

// Point is a pixel position in the original image (after EXIF orientation).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Quad is a text box: top-left, top-right, bottom-right, bottom-left.
type Quad [4]Point

// Line is one recognised text line.
type Line struct {
	Text       string  `json:"text"`
	Confidence float32 `json:"confidence"`
	Box        Quad    `json:"box"`
	// Rotated is true when the direction classifier turned the crop 180°.
	Rotated bool `json:"rotated,omitempty"`
}

// Timings are per-stage wall times of one call.
type Timings struct {
	Decode    time.Duration `json:"decode_ns"`
	DetPre    time.Duration `json:"det_pre_ns"`
	DetInfer  time.Duration `json:"det_infer_ns"`
	DetPost   time.Duration `json:"det_post_ns"`
	Crop      time.Duration `json:"crop_ns"`
	Classify  time.Duration `json:"cls_ns"`
	ClsInfer  time.Duration `json:"cls_infer_ns"`
	Recognize time.Duration `json:"rec_ns"`
	RecInfer  time.Duration `json:"rec_infer_ns"`
	Order     time.Duration `json:"order_ns"`
	Total     time.Duration `json:"total_ns"`
}

// Result is what one call returns: lines in reading order.
type Result struct {
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	Lines   []Line  `json:"lines"`
	Timings Timings `json:"timings"`
}

// Text joins the lines in reading order, one per line.
func (r *Result) Text() string {
	n := 0
	for _, l := range r.Lines {
		n += len(l.Text) + 1
	}
	b := make([]byte, 0, n)
	for i, l := range r.Lines {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, l.Text...)
	}
	return string(b)
}
