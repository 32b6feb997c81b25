package textmetric

import (
	"math"
	"testing"
)

func TestCER(t *testing.T) {
	for _, c := range []struct {
		got, want string
		cer       float64
	}{
		{"abc", "abc", 0},
		{"a b\tc", "abc", 0},
		{"abd", "abc", 1.0 / 3},
		{"", "abcd", 1},
		{"ab", "", 1},
		{"", "", 0},
		{"（１）", "(1)", 0}, // NFKC folds full-width forms
		{"cba", "abc", 2.0 / 3},
	} {
		if got := CER(c.got, c.want); math.Abs(got-c.cer) > 1e-9 {
			t.Errorf("CER(%q, %q) = %v, want %v", c.got, c.want, got, c.cer)
		}
	}
	if FoldCER("ABC", "abc") != 0 {
		t.Error("FoldCER must ignore case")
	}
}

func TestBagF1(t *testing.T) {
	if BagF1("cba", "abc") != 1 {
		t.Error("order must not matter")
	}
	if got := BagF1("ab", "abcd"); math.Abs(got-2*1*0.5/1.5) > 1e-9 {
		t.Errorf("BagF1 = %v", got)
	}
	if BagF1("", "a") != 0 || BagF1("", "") != 1 {
		t.Error("empty cases")
	}
}
