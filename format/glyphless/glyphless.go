// Package glyphless writes a "glyphless" TrueType font for an invisible
// text layer: one empty glyph per character it maps, all of one advance
// width. Nothing is drawn with it; a PDF reader finds the text through the
// ToUnicode map the PDF writer builds from the font's cmap, and places it
// by the uniform advance. Tesseract and ocrmypdf set their text layers in
// a font like it; this one is made per document, for the characters the
// document uses, so that a writer that embeds the whole font (PDFium)
// embeds only that.
//
// It is written by hand: it is a few fixed tables and a cmap, and no
// module writes such a font.
package glyphless

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// The font's metrics, in units of its em (UnitsPerEm): every glyph
// advances Advance; the type stands Ascent above the baseline and Descent
// below, so that a font size makes Ascent+Descent that many units of the
// text space.
const (
	UnitsPerEm = 1000
	Advance    = 500
	Ascent     = 800
	Descent    = 200
)

// MaxRunes is the most characters one font maps: a glyph index is 16 bits
// and glyph 0 is .notdef.
const MaxRunes = 0xFFFE

// ErrTooMany means a font was asked for more than MaxRunes characters.
var ErrTooMany = errors.New("glyphless: too many characters for one font")

// Font is a glyphless font for a set of characters: .notdef is glyph 0,
// and each character has an empty glyph of its own, in character order,
// so that a PDF writer whose codes are glyph indices (PDFium's CID fonts,
// Identity-H) tells the characters apart in its ToUnicode map.
type Font struct {
	runes []rune // sorted, distinct: runes[i] has glyph i+1
}

// New returns the font for the characters of texts (invalid UTF-8 reads
// as U+FFFD).
func New(texts ...string) (*Font, error) {
	var rs []rune
	for _, s := range texts {
		rs = append(rs, []rune(s)...)
	}
	slices.Sort(rs)
	rs = slices.Compact(rs)
	if len(rs) > MaxRunes {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooMany, len(rs), MaxRunes)
	}
	return &Font{runes: rs}, nil
}

// Glyph is r's glyph index, 0 (.notdef) when the font lacks r.
func (f *Font) Glyph(r rune) int {
	if i, ok := slices.BinarySearch(f.runes, r); ok {
		return i + 1
	}
	return 0
}

// TTF is the font's TrueType data. The same characters give the same
// bytes.
func (f *Font) TTF() []byte {
	rs := f.runes
	glyphs := len(rs) + 1
	return assemble([]table{
		{"OS/2", os2(rs)},
		{"cmap", cmap(rs)},
		{"glyf", nil}, // every glyph is empty: loca gives each zero length
		{"head", head()},
		{"hhea", hhea()},
		{"hmtx", hmtx(glyphs)},
		{"loca", make([]byte, 2*(glyphs+1))}, // short offsets, all 0
		{"maxp", maxp(glyphs)},
		{"name", name()},
		{"post", post()},
	})
}

type table struct {
	tag  string
	data []byte
}

// assemble writes the table directory and the tables, each at a 4-byte
// boundary (the directory's tags in ascending order, as the format
// requires), and sets head's checkSumAdjustment so that the whole font
// sums to 0xB1B0AFBA.
func assemble(tables []table) []byte {
	n := len(tables)
	pow := 1
	for pow*2 <= n {
		pow *= 2
	}
	out := binary.BigEndian.AppendUint32(nil, 0x00010000) // TrueType outlines
	out = be(out, uint16(n), uint16(16*pow), uint16(log2(pow)), uint16(16*n-16*pow))
	off := 12 + 16*n
	headAt := 0
	var body []byte
	for _, t := range tables {
		if t.tag == "head" {
			headAt = off + len(body)
		}
		out = append(out, t.tag...)
		out = binary.BigEndian.AppendUint32(out, checksum(t.data))
		out = binary.BigEndian.AppendUint32(out, uint32(off+len(body)))
		out = binary.BigEndian.AppendUint32(out, uint32(len(t.data)))
		body = append(body, t.data...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	out = append(out, body...)
	// checkSumAdjustment is head's third 32-bit field.
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	return out
}

// checksum is the sum of data as big-endian 32-bit words, zero-padded.
func checksum(data []byte) uint32 {
	var sum uint32
	for i := 0; i < len(data); i += 4 {
		var w [4]byte
		copy(w[:], data[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

func log2(n int) int {
	k := 0
	for n > 1 {
		n /= 2
		k++
	}
	return k
}

// be appends 16-bit fields, big-endian.
func be(b []byte, v ...uint16) []byte {
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, x)
	}
	return b
}

// signed is v as the 16-bit field's bits (FWORD, int16).
func signed(v int16) uint16 { return uint16(v) }

func head() []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x00010000) // version
	b = binary.BigEndian.AppendUint32(b, 0x00010000)    // fontRevision
	b = binary.BigEndian.AppendUint32(b, 0)             // checkSumAdjustment, set by assemble
	b = binary.BigEndian.AppendUint32(b, 0x5F0F3CF5)    // magicNumber
	// flags: baseline at y=0, left sidebearing at x=0.
	b = be(b, 0b11, UnitsPerEm)
	b = append(b, make([]byte, 16)...) // created, modified: 0, so the font is the same for the same text
	b = be(b, 0, signed(-Descent), Advance, Ascent)
	// macStyle, lowestRecPPEM, fontDirectionHint (left to right), indexToLocFormat (short), glyphDataFormat.
	return be(b, 0, 8, 2, 0, 0)
}

func hhea() []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x00010000)
	// ascender, descender, lineGap, advanceWidthMax, minLeftSideBearing,
	// minRightSideBearing, xMaxExtent, caretSlopeRise, caretSlopeRun,
	// caretOffset, four reserved, metricDataFormat, numberOfHMetrics: one
	// metric, which the rest of the glyphs repeat.
	return be(b, Ascent, signed(-Descent), 0, Advance, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1)
}

// hmtx is the one advance (numberOfHMetrics is 1) and a zero left side
// bearing for each further glyph.
func hmtx(glyphs int) []byte {
	return append(be(nil, Advance, 0), make([]byte, 2*(glyphs-1))...)
}

func maxp(glyphs int) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x00010000) // version 1.0, for TrueType outlines
	// numGlyphs, then no points, contours, or instructions; maxZones 2.
	return be(b, uint16(glyphs), 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0)
}

func os2(rs []rune) []byte {
	first, last := uint16(0xFFFF), uint16(0xFFFF)
	if len(rs) > 0 {
		first, last = uint16(min(rs[0], 0xFFFF)), uint16(min(rs[len(rs)-1], 0xFFFF))
	}
	// version 4, xAvgCharWidth, usWeightClass (regular), usWidthClass
	// (medium), fsType 0 (installable: embedding allowed), sub- and
	// superscript sizes and offsets, strikeout size and position,
	// sFamilyClass.
	b := be(nil, 4, Advance, 400, 5, 0, 650, 700, 0, 140, 650, 700, 0, 480, 50, 250, 0)
	b = append(b, make([]byte, 10+16)...) // panose, ulUnicodeRange1-4
	b = append(b, "NONE"...)              // achVendID
	// fsSelection (regular), usFirstCharIndex, usLastCharIndex,
	// sTypoAscender, sTypoDescender, sTypoLineGap, usWinAscent, usWinDescent.
	b = be(b, 0x40, first, last, Ascent, signed(-Descent), 0, Ascent, Descent)
	b = append(b, make([]byte, 8)...) // ulCodePageRange1-2
	// sxHeight, sCapHeight, usDefaultChar, usBreakChar, usMaxContext.
	return be(b, 500, 700, 0, ' ', 0)
}

// cmap maps rs (sorted, distinct) to glyphs 1, 2, …: format 4 (Windows
// Unicode BMP) for the runes below U+FFFF, and format 12 (Windows Unicode
// full repertoire) as well when a rune lies beyond the BMP. Consecutive
// runes have consecutive glyphs, so each run of them is one segment.
func cmap(rs []rune) []byte {
	type group struct{ start, end, glyph int }
	var groups []group
	for i, r := range rs {
		if n := len(groups); n > 0 && groups[n-1].end == int(r)-1 {
			groups[n-1].end++
			continue
		}
		groups = append(groups, group{int(r), int(r), i + 1})
	}
	// Format 4 ends with the segment 0xFFFF→0xFFFF that the format
	// requires; U+FFFF itself is not a character.
	var bmp []group
	for _, g := range groups {
		if g.start < 0xFFFF {
			g.end = min(g.end, 0xFFFE)
			bmp = append(bmp, g)
		}
	}
	bmp = append(bmp, group{0xFFFF, 0xFFFF, 0})
	seg := len(bmp)
	pow := 1
	for pow*2 <= seg {
		pow *= 2
	}
	f4 := be(nil, 4, uint16(16+8*seg), 0, uint16(2*seg), uint16(2*pow), uint16(log2(pow)), uint16(2*seg-2*pow))
	for _, g := range bmp {
		f4 = be(f4, uint16(g.end))
	}
	f4 = be(f4, 0) // reservedPad
	for _, g := range bmp {
		f4 = be(f4, uint16(g.start))
	}
	for _, g := range bmp {
		f4 = be(f4, uint16(g.glyph-g.start)) // idDelta, modulo 65536; the last maps 0xFFFF to glyph 0
	}
	f4 = append(f4, make([]byte, 2*seg)...) // idRangeOffset: 0, glyph = code + idDelta

	subtables := [][]byte{f4}
	if len(rs) > 0 && rs[len(rs)-1] > 0xFFFF {
		f12 := be(nil, 12, 0)
		f12 = binary.BigEndian.AppendUint32(f12, uint32(16+12*len(groups)))
		f12 = binary.BigEndian.AppendUint32(f12, 0) // language
		f12 = binary.BigEndian.AppendUint32(f12, uint32(len(groups)))
		for _, g := range groups {
			f12 = binary.BigEndian.AppendUint32(f12, uint32(g.start))
			f12 = binary.BigEndian.AppendUint32(f12, uint32(g.end))
			f12 = binary.BigEndian.AppendUint32(f12, uint32(g.glyph))
		}
		subtables = append(subtables, f12)
	}
	// Encoding records (platform 3 Windows; encoding 1 BMP, 10 full),
	// sorted by platform and encoding as the format requires.
	b := be(nil, 0, uint16(len(subtables)))
	off := 4 + 8*len(subtables)
	for i, st := range subtables {
		b = be(b, 3, []uint16{1, 10}[i])
		b = binary.BigEndian.AppendUint32(b, uint32(off))
		off += len(st)
	}
	for _, st := range subtables {
		b = append(b, st...)
	}
	return b
}

// fontName is the font's family and PostScript name.
const fontName = "GlyphLessFont"

// name holds the family, subfamily, full and PostScript names, Windows
// Unicode English (US), in UTF-16BE.
func name() []byte {
	ids := []uint16{1, 2, 4, 6}
	strs := []string{fontName, "Regular", fontName, fontName}
	b := be(nil, 0, uint16(len(ids)), uint16(6+12*len(ids)))
	var data []byte
	for i, id := range ids {
		var s []byte
		for _, r := range strs[i] { // ASCII: one UTF-16 unit each
			s = be(s, uint16(r))
		}
		b = be(b, 3, 1, 0x409, id, uint16(len(s)), uint16(len(data)))
		data = append(data, s...)
	}
	return append(b, data...)
}

// post is version 3.0: no glyph names. The font is fixed-pitch.
func post() []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x00030000)
	b = binary.BigEndian.AppendUint32(b, 0) // italicAngle
	b = be(b, signed(-100), 50)             // underlinePosition, underlineThickness
	b = binary.BigEndian.AppendUint32(b, 1) // isFixedPitch
	return append(b, make([]byte, 16)...)   // min/maxMemType42, min/maxMemType1
}
