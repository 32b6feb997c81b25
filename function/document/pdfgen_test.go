package document

import (
	"bytes"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"fmt"
	"strings"
)

// testPage is one page of a generated PDF: a w×h pt page with a black bar
// of height bar pt hanging from (barX, h-36) and 72 pt wide, and a line of
// Helvetica text beside it. The bar's height is what tests measure to tell
// pages apart.
type testPage struct {
	w, h float64
	bar  float64
	text string
	// ops are extra content-stream operators drawn after the bar, with
	// resources the extra entries of the page's resource dictionary.
	ops, resources string
	rotate         int // /Rotate
}

const barX = 36.0

func (p testPage) content() string {
	return fmt.Sprintf("0 g %g %g 72 %g re f\nBT /F1 24 Tf %g %g Td (%s) Tj ET\n%s",
		barX, p.h-36-p.bar, p.bar, barX+90, p.h-60, p.text, p.ops)
}

// numbered returns n pages of w×h pt whose bar is 4 pt per page number
// (cycling every 60 pages so it fits a 300 pt page).
func numbered(n int, w, h float64) []testPage {
	pages := make([]testPage, n)
	for i := range pages {
		pages[i] = testPage{w: w, h: h, bar: barFor(i + 1), text: fmt.Sprintf("Page %d text", i+1)}
	}
	return pages
}

func barFor(number int) float64 { return float64(4 * (1 + (number-1)%60)) }

// security is the standard security handler, revision 2 (40-bit RC4), the
// simplest one every reader supports.
type security struct {
	user, owner string
}

var pdfPadding = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

func pad(pw string) []byte { return append([]byte(pw), pdfPadding...)[:32] }

func rc4Crypt(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil {
		panic(err) // key lengths here are always 5..16 bytes
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// permissions grants everything; the field is a signed 32-bit integer.
var permissions int32 = -4

// keys computes O, U and the file key (PDF 1.7, algorithms 2, 3 and 4).
func (s security) keys(id []byte) (o, u, key []byte) {
	ownerKey := md5.Sum(pad(s.owner))
	o = rc4Crypt(ownerKey[:5], pad(s.user))
	h := md5.New()
	h.Write(pad(s.user))
	h.Write(o)
	h.Write(binary.LittleEndian.AppendUint32(nil, uint32(permissions)))
	h.Write(id)
	key = h.Sum(nil)[:5]
	return o, rc4Crypt(key, pdfPadding), key
}

// objectKey is algorithm 1's key for object num, generation 0.
func objectKey(key []byte, num int) []byte {
	k := md5.Sum(append(bytes.Clone(key), byte(num), byte(num>>8), byte(num>>16), 0, 0))
	return k[:len(key)+5]
}

// buildPDF writes a PDF with the given pages. Objects: 1 catalog, 2 page
// tree, 3 font, then a page and its content stream per page, then the
// encryption dictionary if sec is set. countOverride, when non-zero,
// replaces the page tree's /Count.
func buildPDF(pages []testPage, sec *security, countOverride int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	id := md5.Sum([]byte(fmt.Sprint(len(pages), sec)))
	var key, o, u []byte
	if sec != nil {
		o, u, key = sec.keys(id[:])
	}
	nobj := 3 + 2*len(pages)
	if sec != nil {
		nobj++
	}
	offsets := make([]int, nobj+1)
	obj := func(num int, body string) {
		offsets[num] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", num, body)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	count := len(pages)
	if countOverride != 0 {
		count = countOverride
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), count))
	obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, p := range pages {
		pageNum, contentNum := 4+2*i, 5+2*i
		obj(pageNum, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents %d 0 R /Resources << /Font << /F1 3 0 R >> %s >> /Rotate %d >>",
			p.w, p.h, contentNum, p.resources, p.rotate))
		stream := []byte(p.content())
		if sec != nil {
			stream = rc4Crypt(objectKey(key, contentNum), stream)
		}
		obj(contentNum, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream))
	}
	trailerExtra := ""
	if sec != nil {
		obj(nobj, fmt.Sprintf("<< /Filter /Standard /V 1 /R 2 /O <%x> /U <%x> /P %d >>", o, u, permissions))
		trailerExtra = fmt.Sprintf(" /Encrypt %d 0 R", nobj)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", nobj+1)
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /ID [<%x> <%x>]%s >>\nstartxref\n%d\n%%%%EOF\n",
		nobj+1, id, id, trailerExtra, xref)
	return b.Bytes()
}
