package function

import "unicode"

// glyph is one character CTC decoding kept: its text, the first and last
// time steps of its run of argmax steps, and its probability.
type glyph struct {
	text     string
	from, to int
	p        float32
}

// words splits the crop's recognised characters into words at spaces and
// boxes each one: time steps become columns of the crop that was
// recognised (step × stepW), and those columns are mapped back through the
// crop's transform onto the line's quad, undoing the 180° flip and the
// 90° turn of tall crops.
func (c *crop) words() []Word {
	if len(c.glyphs) == 0 || c.img == nil || c.img.W == 0 {
		return nil
	}
	var out []Word
	first := -1
	flush := func(end int) {
		if first < 0 {
			return
		}
		gs := c.glyphs[first:end]
		var text string
		var sum float32
		for _, g := range gs {
			text += g.text
			sum += g.p
		}
		// A character's run of steps is narrower than its ink, and the
		// run starts late and ends early by about half a step each side.
		u0 := (float64(gs[0].from) - 0.5) * c.stepW
		u1 := (float64(gs[len(gs)-1].to) + 1.5) * c.stepW
		out = append(out, Word{Text: text, Confidence: sum / float32(len(gs)), Box: c.span(u0, u1)})
		first = -1
	}
	for i, g := range c.glyphs {
		if isSpace(g.text) {
			flush(i)
			continue
		}
		if first < 0 {
			first = i
		}
	}
	flush(len(c.glyphs))
	return out
}

func isSpace(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// span is the part of the line's box between columns u0 and u1 of the
// recognised crop (reading left to right), corners in the box's order.
func (c *crop) span(u0, u1 float64) Quad {
	w := float64(c.img.W)
	t0, t1 := clamp(u0, w)/w, clamp(u1, w)/w
	if c.rotated {
		t0, t1 = 1-t1, 1-t0
	}
	q := c.box
	lerp := func(a, b Point, t float64) Point {
		return Point{X: a.X + (b.X-a.X)*t, Y: a.Y + (b.Y-a.Y)*t}
	}
	if c.tall {
		// The crop was turned 90° counter-clockwise: its columns run down
		// the box, from the top edge (q0-q1) to the bottom (q3-q2).
		return Quad{lerp(q[0], q[3], t0), lerp(q[1], q[2], t0), lerp(q[1], q[2], t1), lerp(q[0], q[3], t1)}
	}
	return Quad{lerp(q[0], q[1], t0), lerp(q[0], q[1], t1), lerp(q[3], q[2], t1), lerp(q[3], q[2], t0)}
}
