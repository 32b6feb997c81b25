package function

import "testing"

func TestMedianLineHeight(t *testing.T) {
	line := func(x, y, w, h float64) [4][2]float64 {
		return [4][2]float64{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}
	}
	for _, c := range []struct {
		name  string
		quads [][4][2]float64
		want  float64
	}{
		{"none", nil, 0},
		{"level lines", [][4][2]float64{line(0, 0, 300, 20), line(0, 30, 200, 12), line(0, 50, 400, 40)}, 20},
		{"a vertical line reads its width", [][4][2]float64{line(0, 0, 18, 400)}, 18},
	} {
		if got := medianLineHeight(c.quads); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if w, h := scaled(960, 704, 1.5); w != 1440 || h != 1056 {
		t.Errorf("scaled(960, 704, 1.5) = %dx%d", w, h)
	}
	if w, h := scaled(100, 10, 0.5); w != 64 || h != 32 {
		t.Errorf("scaled(100, 10, 0.5) = %dx%d, want each side a multiple of 32, at least 32", w, h)
	}
}
