// Package textmetric scores OCR output against ground truth the way
// ../shared/docs/ppocr-pipeline.md §6 prescribes: NFKC, whitespace removed,
// character error rate over the concatenated text (order-sensitive, so it
// also scores reading order) and an order-insensitive character-bag F1.
package textmetric

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Normalize applies NFKC and drops all whitespace.
func Normalize(s string) []rune {
	s = norm.NFKC.String(s)
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if !unicode.IsSpace(r) {
			out = append(out, r)
		}
	}
	return out
}

// CER is the edit distance between the normalised texts divided by the
// reference length (1 when the reference is empty and got is not).
func CER(got, want string) float64 {
	g, w := Normalize(got), Normalize(want)
	if len(w) == 0 {
		if len(g) == 0 {
			return 0
		}
		return 1
	}
	return float64(levenshtein(g, w)) / float64(len(w))
}

// FoldCER is CER ignoring letter case.
func FoldCER(got, want string) float64 {
	return CER(strings.ToLower(got), strings.ToLower(want))
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// BagF1 is the F1 of the multisets of normalised characters.
func BagF1(got, want string) float64 {
	g, w := Normalize(got), Normalize(want)
	if len(g) == 0 && len(w) == 0 {
		return 1
	}
	if len(g) == 0 || len(w) == 0 {
		return 0
	}
	count := map[rune]int{}
	for _, r := range w {
		count[r]++
	}
	match := 0
	for _, r := range g {
		if count[r] > 0 {
			count[r]--
			match++
		}
	}
	p, r := float64(match)/float64(len(g)), float64(match)/float64(len(w))
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Distance is the edit distance between the normalised texts and the
// longer one's length, so that Distance/Length is in [0, 1].
func Distance(a, b string) (dist, length int) {
	x, y := Normalize(a), Normalize(b)
	return levenshtein(x, y), max(len(x), len(y))
}
