package glyphless_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/ocrhost/ocrhost/format/glyphless"
)

// TestFont: the font parses with x/image/font/sfnt; each character of the
// text (Latin, Cyrillic, CJK, one beyond the BMP, the last of the BMP
// before U+FFFF) has a glyph of its own, empty, advancing half an em;
// characters left out have none; the metrics are the package's; the whole
// font sums to the checksum the format fixes; it is small.
func TestFont(t *testing.T) {
	text := "Hello wörld Привет 中文识别 𠀀𝔸 \ufffe"
	gf, err := glyphless.New(text, "Hello")
	if err != nil {
		t.Fatal(err)
	}
	ttf := gf.TTF()
	f, err := sfnt.Parse(ttf)
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	upem := fixed.I(glyphless.UnitsPerEm)
	if f.UnitsPerEm() != glyphless.UnitsPerEm {
		t.Errorf("units per em %d", f.UnitsPerEm())
	}
	seen := map[sfnt.GlyphIndex]rune{}
	for _, r := range text {
		g, err := f.GlyphIndex(&buf, r)
		if err != nil || g == 0 {
			t.Errorf("%q: glyph %d, %v", r, g, err)
			continue
		}
		if int(g) != gf.Glyph(r) {
			t.Errorf("%q: glyph %d in the font, %d from Glyph", r, g, gf.Glyph(r))
		}
		if o, ok := seen[g]; ok && o != r {
			t.Errorf("%q and %q share glyph %d", r, o, g)
		}
		seen[g] = r
		if a, err := f.GlyphAdvance(&buf, g, upem, font.HintingNone); err != nil || a != fixed.I(glyphless.Advance) {
			t.Errorf("%q: advance %v, %v", r, a, err)
		}
		if segs, err := f.LoadGlyph(&buf, g, upem, nil); err != nil || len(segs) != 0 {
			t.Errorf("%q: %d segments, %v", r, len(segs), err)
		}
	}
	if n := f.NumGlyphs(); n != len(seen)+1 {
		t.Errorf("%d glyphs for %d characters", n, len(seen))
	}
	for _, r := range "xЖ字𠀁" {
		if g, err := f.GlyphIndex(&buf, r); err != nil || g != 0 || gf.Glyph(r) != 0 {
			t.Errorf("%q, not in the text: glyph %d, %v", r, g, err)
		}
	}
	m, err := f.Metrics(&buf, upem, font.HintingNone)
	if err != nil {
		t.Fatal(err)
	}
	if m.Ascent != fixed.I(glyphless.Ascent) || m.Descent != fixed.I(glyphless.Descent) {
		t.Errorf("ascent %v descent %v", m.Ascent, m.Descent)
	}
	if name, err := f.Name(&buf, sfnt.NameIDPostScript); err != nil || name == "" {
		t.Errorf("PostScript name %q, %v", name, err)
	}
	var sum uint32
	for i := 0; i < len(ttf); i += 4 {
		sum += binary.BigEndian.Uint32(ttf[i:])
	}
	if sum != 0xB1B0AFBA {
		t.Errorf("font checksum %#x", sum)
	}
	if len(ttf) > 1500 {
		t.Errorf("%d bytes for %d characters", len(ttf), len(seen))
	}
}

// TestFontEmpty: no text is still a font (its .notdef alone); too many
// characters is ErrTooMany.
func TestFontEmpty(t *testing.T) {
	gf, err := glyphless.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sfnt.Parse(gf.TTF()); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for r := rune(0x10000); r < 0x10000+glyphless.MaxRunes+1; r++ {
		b.WriteRune(r)
	}
	if _, err := glyphless.New(b.String()); !errors.Is(err, glyphless.ErrTooMany) {
		t.Fatalf("%d characters: %v", glyphless.MaxRunes+1, err)
	}
}
