package function

import "testing"

func TestSettled(t *testing.T) {
	lines := func(p180 ...float32) ([]*crop, []int) {
		var cs []*crop
		var idx []int
		for i, p := range p180 {
			cs = append(cs, &crop{p180: p})
			idx = append(idx, i)
		}
		return cs, idx
	}
	for _, c := range []struct {
		name          string
		p180          []float32
		flipped, sure bool
	}{
		{"all sure upright", []float32{0, 0.01, 0.05, 0}, false, true},
		{"all sure upside down", []float32{1, 0.99, 0.95}, true, true},
		{"one unsure", []float32{0, 0.01, 0.3, 0}, false, false},
		{"mixed sure", []float32{0, 1, 0, 0}, false, false},
		{"just short of sure", []float32{0.94, 1}, false, false},
	} {
		cs, idx := lines(c.p180...)
		if flipped, ok := settled(cs, idx); ok != c.sure || ok && flipped != c.flipped {
			t.Errorf("%s: settled %v flipped %v, want %v %v", c.name, ok, flipped, c.sure, c.flipped)
		}
	}
}
