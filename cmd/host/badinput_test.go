package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/image/tiff"

	"github.com/ocrhost/ocrhost/events"
	"github.com/ocrhost/ocrhost/events/jobs"
	"github.com/ocrhost/ocrhost/host"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/memory"
)

// The bad-input catalogue: every kind of malformed, hostile or oversized
// request a deployment may meet, sent end to end to a served host, each
// with the failure code (and HTTP status) the contract documents for it.
// After every row the host must still answer a good request, and its RSS
// must not grow from one pass over the table to the next.

// Limits of the host under test, small so that the bombs below are cheap.
const (
	badMaxBody   = 1 << 20 // OCRHOST_MAX_BODY_BYTES
	badMaxPages  = 20      // OCRHOST_MAX_PAGES
	badMaxPixels = 20_000_000
	// badRSSCeiling bounds the host's RSS after each pass, three models
	// and PDFium loaded: 221-316 MiB measured over four passes.
	badRSSCeiling = 512 << 20
	// badRSSGrowth bounds the RSS growth of a second pass over the table.
	// ONNX Runtime's arenas and glibc settle during the first two passes
	// (+57 and +95 MiB measured), then stay put or shrink (-8, -26 MiB).
	badRSSGrowth = 128 << 20
)

// via is the set of transports a row is sent over.
type via uint8

const (
	viaNATS via = 1 << iota // core NATS request-reply
	viaHTTP                 // HTTP POST, binary or structured as the row's headers say
	viaJS                   // JetStream job, answered on the result subject
	viaAll  = viaNATS | viaHTTP | viaJS
)

// badRow is one kind of bad request event. headers use the NATS binding's
// lower-case names; HTTP takes the same ones. A "ce-id" header is replaced
// by a fresh id on every send.
type badRow struct {
	name    string
	via     via
	headers map[string]string
	body    []byte
	// code is the failure code wanted, "" for a result; status is the
	// HTTP status that goes with it.
	code   host.Code
	status int
	// lines, for a result, is the number of lines it must have (-1: any).
	lines int
}

// binaryReq is a well-formed binary-mode request for body with content
// type ct ("" for none); change edits its headers.
func binaryReq(ct string, change func(h map[string]string)) map[string]string {
	h := map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-type": events.TypeRequest, "ce-source": "/badinput"}
	if ct != "" {
		h["content-type"] = ct
	}
	if change != nil {
		change(h)
	}
	return h
}

// envelope is the JSON form of a request with options, written by hand
// so that options the encoder would refuse (too deep) go out as they are.
func envelope(doc []byte, ct, options string) []byte {
	b := []byte(`{"data":"` + base64.StdEncoding.EncodeToString(doc) + `"`)
	if ct != "" {
		b = fmt.Appendf(b, `,"content_type":%q`, ct)
	}
	if options != "" {
		b = append(b, `,"options":`+options...)
	}
	return append(b, '}')
}

func encodePNGImage(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func uniform(w, h int, c color.Gray) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = c.Y
	}
	return m
}

// pngWithSize rewrites the IHDR of a real PNG to claim w×h, with a valid
// CRC, so only the size is wrong.
func pngWithSize(t testing.TB, w, h uint32) []byte {
	t.Helper()
	b := encodePNGImage(t, uniform(1, 1, color.Gray{Y: 255}))
	// Signature (8), length (4), "IHDR" (4), width, height, ..., CRC.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func jpegOf(t testing.TB, w, h int) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gifWithScreen is a 1×1 GIF whose logical screen claims w×h.
func gifWithScreen(t testing.TB, w, h uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	m := image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{color.White, color.Black})
	if err := gif.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	g := b.Bytes()
	binary.LittleEndian.PutUint16(g[6:], w)
	binary.LittleEndian.PutUint16(g[8:], h)
	return g
}

// webpLossless16K is a VP8L header claiming 16384×16384 followed by junk.
func webpLossless16K() []byte {
	vp8l := []byte{0x2f, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0, 0}
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8L")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vp8l)))
	b = append(b, vp8l...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// npyHeader is a .npy file of uint8 with the given shape and no data.
func npyHeader(shape string) []byte {
	dict := fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': %s, }", shape)
	pad := 64 - (10+len(dict)+1)%64
	dict += strings.Repeat(" ", pad%64) + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	return append(b, dict...)
}

// tiffLoop is a 2×2 TIFF whose directory chain points back at itself.
func tiffLoop(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tiff.Encode(&b, uniform(2, 2, color.Gray{Y: 255}), nil); err != nil {
		t.Fatal(err)
	}
	d := b.Bytes()
	order := binary.ByteOrder(binary.LittleEndian)
	if string(d[:2]) == "MM" {
		order = binary.BigEndian
	}
	ifd := order.Uint32(d[4:])
	n := uint32(order.Uint16(d[ifd:]))
	order.PutUint32(d[ifd+2+12*n:], ifd)
	return d
}

// pdfOf writes a PDF with objects numbered from 1 in order, object 1
// the catalog; trailer holds extra trailer entries.
func pdfOf(trailer string, objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	off := make([]int, len(objs))
	for i, o := range objs {
		off[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range off {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, xref)
	return b.Bytes()
}

const pdfCatalog = "<< /Type /Catalog /Pages 2 0 R >>"

// pdfPages is a PDF of n blank pages of w×h pt that all are one page
// object, listed n times in the page tree: 10,000 pages in 60 kB.
func pdfPages(n int, w, h float64) []byte {
	kids := strings.Repeat("3 0 R ", n)
	return pdfOf("", pdfCatalog,
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, n),
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] >>", w, h))
}

// pdfEncrypted is a one-page PDF under the standard security handler
// whose user password is not empty: no key opens it without one.
func pdfEncrypted() []byte {
	hex32 := strings.Repeat("5a", 32)
	return pdfOf(fmt.Sprintf("/Encrypt 4 0 R /ID [<%s> <%s>]", hex32[:32], hex32[:32]), pdfCatalog,
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
		fmt.Sprintf("<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >>", hex32, strings.Repeat("a5", 32)))
}

// badRows is the catalogue of bad request events; canary is a FIFO a
// path-traversing option would have to open.
func badRows(t testing.TB, canary string) []badRow {
	t.Helper()
	good := encodePNGImage(t, uniform(64, 32, color.Gray{Y: 255}))
	goodB64 := base64.StdEncoding.EncodeToString(good)
	jpg := jpegOf(t, 64, 64)
	fullPNG := encodePNGImage(t, image.NewRGBA(image.Rect(0, 0, 64, 64)))
	twoPages := pdfPages(2, 72, 72)
	traversal := strings.Repeat("../", 16) + strings.TrimPrefix(canary, "/")
	structured := map[string]string{"content-type": "application/cloudevents+json"}
	jsonReq := binaryReq("application/json", nil)
	withOptions := func(name, options string, doc []byte) badRow {
		return badRow{name: name, via: viaNATS | viaHTTP, headers: jsonReq, body: envelope(doc, "", options),
			code: host.CodeInvalidInput, status: 400}
	}
	ref := func(name, data string) badRow {
		return badRow{name: name, via: viaAll, headers: binaryReq(jobs.MediaObjectRef, nil), body: []byte(data),
			code: host.CodeInvalidInput, status: 400}
	}
	return []badRow{
		// Envelope: not a CloudEvent, or a CloudEvent with wrong attributes.
		{name: "bytes that are no CloudEvent", via: viaNATS | viaHTTP, headers: map[string]string{"content-type": "text/plain"},
			body: []byte("hello"), code: host.CodeInvalidInput, status: 400},
		{name: "structured event that is no JSON", via: viaNATS | viaHTTP, headers: structured,
			body: []byte("{not json"), code: host.CodeInvalidInput, status: 400},
		{name: "structured event without specversion", via: viaNATS | viaHTTP, headers: structured,
			body: []byte(`{"id":"s1","source":"/s","type":"t","data":{}}`), code: host.CodeInvalidInput, status: 400},
		{name: "missing id", via: viaAll, headers: binaryReq("image/png", func(h map[string]string) { delete(h, "ce-id") }),
			body: good, code: host.CodeInvalidInput, status: 400},
		{name: "missing source", via: viaAll, headers: binaryReq("image/png", func(h map[string]string) { delete(h, "ce-source") }),
			body: good, code: host.CodeInvalidInput, status: 400},
		{name: "missing type", via: viaAll, headers: binaryReq("image/png", func(h map[string]string) { delete(h, "ce-type") }),
			body: good, code: host.CodeInvalidInput, status: 400},
		{name: "specversion 0.3", via: viaAll, headers: binaryReq("image/png", func(h map[string]string) { h["ce-specversion"] = "0.3" }),
			body: good, code: host.CodeInvalidInput, status: 400},
		{name: "unknown specversion 9.9", via: viaAll, headers: binaryReq("image/png", func(h map[string]string) { h["ce-specversion"] = "9.9" }),
			body: good, code: host.CodeInvalidInput, status: 400},
		{name: "batch of events", via: viaNATS | viaHTTP, headers: map[string]string{"content-type": "application/cloudevents-batch+json"},
			body: []byte(`[{"specversion":"1.0","id":"b1","source":"/s","type":"t"}]`), code: host.CodeInvalidInput, status: 400},
		{name: "structured data_base64 not base64", via: viaNATS | viaHTTP, headers: structured,
			body: []byte(`{"specversion":"1.0","id":"s2","source":"/s","type":"t","datacontenttype":"image/png","data_base64":"***"}`),
			code: host.CodeInvalidInput, status: 400},
		{name: "result type sent as a request", via: viaNATS | viaHTTP,
			headers: binaryReq("image/png", func(h map[string]string) { h["ce-type"] = events.TypeResult }),
			body:    good, code: host.CodeInvalidInput, status: 400},
		{name: "failure type sent as a request", via: viaNATS | viaHTTP,
			headers: binaryReq("application/json", func(h map[string]string) { h["ce-type"] = events.TypeFailure }),
			body:    []byte(`{"code":"busy","message":"m","retryable":true}`), code: host.CodeInvalidInput, status: 400},

		// Data: the document's bytes and content type.
		{name: "empty data", via: viaAll, headers: binaryReq("image/png", nil), code: host.CodeInvalidInput, status: 400},
		{name: "unknown content type", via: viaNATS | viaHTTP, headers: binaryReq("application/x-unknown", nil),
			body: good, code: host.CodeUnsupportedFormat, status: 415},
		{name: "malformed content type", via: viaNATS | viaHTTP, headers: binaryReq("image/", nil),
			body: good, code: host.CodeInvalidInput, status: 400},
		{name: "content type contradicting the bytes", via: viaNATS | viaHTTP, headers: binaryReq("image/png", nil),
			body: jpg, code: host.CodeInvalidInput, status: 400},
		{name: "bytes of no known format", via: viaNATS | viaHTTP, headers: binaryReq("", nil),
			body: bytes.Repeat([]byte("junk"), 64), code: host.CodeUnsupportedFormat, status: 415},
		{name: "truncated PNG", via: viaAll, headers: binaryReq("image/png", nil),
			body: fullPNG[:len(fullPNG)/2], code: host.CodeInvalidInput, status: 400},
		{name: "truncated JPEG", via: viaNATS | viaHTTP, headers: binaryReq("image/jpeg", nil),
			body: jpg[:len(jpg)/2], code: host.CodeInvalidInput, status: 400},
		{name: "PNG header claiming 100000x100000", via: viaNATS | viaHTTP, headers: binaryReq("image/png", nil),
			body: pngWithSize(t, 100000, 100000), code: host.CodeTooLarge, status: 413},
		{name: "PNG zlib bomb 5000x5000", via: viaNATS | viaHTTP, headers: binaryReq("image/png", nil),
			body: encodePNGImage(t, uniform(5000, 5000, color.Gray{})), code: host.CodeTooLarge, status: 413},
		{name: "GIF screen 65535x65535", via: viaNATS | viaHTTP, headers: binaryReq("image/gif", nil),
			body: gifWithScreen(t, 65535, 65535), code: host.CodeTooLarge, status: 413},
		{name: "WebP lossless 16384x16384", via: viaNATS | viaHTTP, headers: binaryReq("image/webp", nil),
			body: webpLossless16K(), code: host.CodeTooLarge, status: 413},
		{name: "NPY shape 100000x100000x3", via: viaNATS | viaHTTP, headers: binaryReq("application/x-npy", nil),
			body: npyHeader("(100000, 100000, 3)"), code: host.CodeTooLarge, status: 413},
		// As libtiff does, the chain is cut where it loops: one blank page.
		{name: "TIFF directory chain looping", via: viaNATS | viaHTTP, headers: binaryReq("image/tiff", nil),
			body: tiffLoop(t), lines: 0},
		{name: "1x1 image", via: viaNATS | viaHTTP, headers: binaryReq("image/png", nil),
			body: encodePNGImage(t, uniform(1, 1, color.Gray{})), lines: 0},
		{name: "all-black image", via: viaNATS | viaHTTP, headers: binaryReq("image/png", nil),
			body: encodePNGImage(t, uniform(320, 200, color.Gray{})), lines: 0},

		// Documents.
		{name: "10000-page PDF", via: viaAll, headers: binaryReq("application/pdf", nil),
			body: pdfPages(10000, 72, 72), code: host.CodeTooLarge, status: 413},
		{name: "encrypted PDF", via: viaNATS | viaHTTP, headers: binaryReq("application/pdf", nil),
			body: pdfEncrypted(), code: host.CodeInvalidInput, status: 400},
		{name: "corrupt PDF", via: viaAll, headers: binaryReq("application/pdf", nil),
			body: append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("\x00garbage\xff"), 100)...), code: host.CodeInvalidInput, status: 400},
		{name: "PDF page 200x200 inches", via: viaNATS | viaHTTP, headers: binaryReq("application/pdf", nil),
			body: pdfPages(1, 14400, 14400), code: host.CodeTooLarge, status: 413},
		withOptions("page range beyond the document", `{"first_page":5}`, twoPages),

		// Options.
		func() badRow {
			r := withOptions("option of the wrong type", `{"dpi":"high"}`, good)
			r.via = viaAll
			return r
		}(),
		withOptions("unknown option", `{"languages":["en"]}`, good),
		withOptions("options not an object", `[1,2]`, good),
		withOptions("option number overflowing int", `{"det_limit_side_len":1e300}`, good),
		withOptions("options nested 20000 deep", `{"preset":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`, good),
		withOptions("negative page", `{"first_page":-1}`, twoPages),
		withOptions("inverted page range", `{"first_page":3,"last_page":2}`, twoPages),
		withOptions("preset with a path traversal", fmt.Sprintf(`{"preset":%q}`, traversal), good),
		withOptions("stage with a path traversal", fmt.Sprintf(`{"stages":[%q]}`, traversal), good),
		withOptions("model path option", fmt.Sprintf(`{"model_dir":%q}`, filepath.Dir(canary)), good),
		{name: "envelope with a url member", via: viaNATS | viaHTTP, headers: jsonReq,
			body: []byte(`{"data":"` + goodB64 + `","url":"http://127.0.0.1:1/a.png"}`), code: host.CodeInvalidInput, status: 400},
		{name: "envelope naming JSON as the document format", via: viaNATS | viaHTTP, headers: jsonReq,
			body: envelope(good, "application/json", ""), code: host.CodeInvalidInput, status: 400},

		// Object references (documents too large for a message).
		ref("object reference that does not exist", fmt.Sprintf(`{"bucket":%q,"name":"never-uploaded"}`, jobs.DefaultPayloadBucket)),
		ref("object reference with a path traversal", fmt.Sprintf(`{"bucket":%q,"name":%q}`, jobs.DefaultPayloadBucket, traversal)),
		ref("object reference to another bucket", `{"bucket":"ocr-tasks","name":"x"}`),
		ref("object reference that is no JSON", `{"bucket":`),
	}
}

// badAnswer is what came back for one send.
type badAnswer struct {
	typ    string
	status int // HTTP only
	fail   events.FailureData
	resp   host.Response
}

func (a badAnswer) String() string {
	if a.typ == events.TypeFailure {
		return fmt.Sprintf("%d %s: %s", a.status, a.fail.Code, a.fail.Message)
	}
	return fmt.Sprintf("%d %s with %d lines", a.status, a.typ, len(a.resp.Lines))
}

// parseAnswer reads a binary-mode answer (typ from its ce-type) or a
// structured one (typ "").
func parseAnswer(t testing.TB, typ string, body []byte) badAnswer {
	t.Helper()
	data := body
	if typ == "" {
		var e struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("answer is no event: %v: %.200s", err, body)
		}
		typ, data = e.Type, e.Data
	}
	a := badAnswer{typ: typ}
	var err error
	switch typ {
	case events.TypeFailure:
		err = json.Unmarshal(data, &a.fail)
	case events.TypeResult:
		err = json.Unmarshal(data, &a.resp)
	default:
		t.Fatalf("answer of type %q: %.200s", typ, body)
	}
	if err != nil {
		t.Fatalf("%s data: %v: %.200s", typ, err, data)
	}
	return a
}

// badEnv is the host under test and its clients.
type badEnv struct {
	th      *testHost
	nc      *nats.Conn
	js      jetstream.JetStream
	results *nats.Subscription // the result subject
	good    []byte             // the sample document
	line    []byte             // its line holding sampleWords
}

// withID returns headers with a fresh ce-id when they have one.
func withID(headers map[string]string) (map[string]string, string) {
	h := make(map[string]string, len(headers))
	for k, v := range headers {
		h[k] = v
	}
	id := ""
	if _, ok := h["ce-id"]; ok {
		id = uuid.NewString()
		h["ce-id"] = id
	}
	return h, id
}

func (e *badEnv) natsSend(t testing.TB, headers map[string]string, body []byte) badAnswer {
	t.Helper()
	h, _ := withID(headers)
	m := nats.NewMsg(events.DefaultRequestSubject)
	for k, v := range h {
		m.Header.Set(k, v)
	}
	m.Data = body
	rep, err := e.nc.RequestMsg(m, time.Minute)
	if err != nil {
		t.Fatalf("nats: %v", err)
	}
	return parseAnswer(t, rep.Header.Get("ce-type"), rep.Data)
}

func (e *badEnv) httpSend(t testing.TB, headers map[string]string, body []byte) badAnswer {
	t.Helper()
	h, _ := withID(headers)
	req, err := http.NewRequest(http.MethodPost, e.th.httpURL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("http: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := parseAnswer(t, resp.Header.Get("Ce-Type"), b)
	a.status = resp.StatusCode
	return a
}

// jsSend queues the row as a job and waits for its answer on the result
// subject; the job must then be acknowledged, not left to be redelivered.
func (e *badEnv) jsSend(t testing.TB, headers map[string]string, body []byte) badAnswer {
	t.Helper()
	h, id := withID(headers)
	if id == "" {
		id = uuid.NewString() // for Nats-Msg-Id only: the answer cannot name the request
	}
	m := nats.NewMsg("ocr.jobs.badinput")
	for k, v := range h {
		m.Header.Set(k, v)
	}
	m.Data = body
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.js.PublishMsg(ctx, m, jetstream.WithMsgID(id)); err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	for {
		rep, err := e.results.NextMsg(time.Minute)
		if err != nil {
			t.Fatalf("no answer to job %s: %v", id, err)
		}
		// A job whose event cannot be read is answered without a request
		// id; rows run one at a time, so that answer is this job's.
		if rid := rep.Header.Get("ce-requestid"); rid != id && rid != "" {
			continue // an answer to an earlier publish
		}
		return parseAnswer(t, rep.Header.Get("ce-type"), rep.Data)
	}
}

// readSample OCRs the whole sample and returns the line holding
// sampleWords, cut out as a PNG: a good request cheap enough to follow
// every row.
func (e *badEnv) readSample(t testing.TB) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := events.NewClient(e.nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: e.good})
	if err != nil {
		t.Fatalf("host stopped serving: %v", err)
	}
	for _, l := range resp.Lines {
		if !strings.Contains(l.Text, sampleWords) {
			continue
		}
		m, err := tiff.Decode(bytes.NewReader(e.good))
		if err != nil {
			t.Fatal(err)
		}
		r := image.Rect(int(l.Box[0].X)-4, int(l.Box[0].Y)-4, int(l.Box[2].X)+4, int(l.Box[2].Y)+4).Intersect(m.Bounds())
		return encodePNGImage(t, m.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(r))
	}
	t.Fatalf("host reads the sample as %q", resp.Text)
	return nil
}

// alive checks the host still recognises the sample's line.
func (e *badEnv) alive(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := events.NewClient(e.nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: e.line, ContentType: "image/png", Options: json.RawMessage(`{"stages":["rec"]}`)})
	if err != nil {
		t.Fatalf("host stopped serving: %v", err)
	}
	if !strings.Contains(resp.Text, sampleWords) {
		t.Fatalf("host reads the sample line as %q", resp.Text)
	}
}

func (e *badEnv) rss(t testing.TB) uint64 {
	t.Helper()
	resp, err := http.Get(e.th.httpURL + "/debug/memory")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var report struct{ Memory struct{ RSS uint64 } }
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil || report.Memory.RSS == 0 {
		t.Fatalf("memory report: %v %+v", err, report)
	}
	return report.Memory.RSS
}

func checkAnswer(t testing.TB, transport string, r badRow, a badAnswer) {
	t.Helper()
	switch {
	case r.code == "" && a.typ != events.TypeResult:
		t.Errorf("%s: %v, want a result", transport, a)
	case r.code == "" && r.lines >= 0 && len(a.resp.Lines) != r.lines:
		t.Errorf("%s: %v, want %d lines", transport, a, r.lines)
	case r.code != "" && (a.typ != events.TypeFailure || a.fail.Code != r.code):
		t.Errorf("%s: %v, want %s", transport, a, r.code)
	case r.code != "" && a.fail.Retryable != r.code.Retryable():
		t.Errorf("%s: retryable %v for %s", transport, a.fail.Retryable, r.code)
	}
	wantStatus := r.status
	if r.code == "" {
		wantStatus = http.StatusOK
	}
	if transport == "http" && a.status != wantStatus {
		t.Errorf("http: status %d, want %d (%v)", a.status, wantStatus, a)
	}
}

// transportRow is a bad input below the event: the connection or the
// message itself.
type transportRow struct {
	name string
	run  func(t *testing.T, e *badEnv)
}

func httpDo(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("http: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func transportRows() []transportRow {
	overBody := bytes.Repeat([]byte{0}, badMaxBody+1)
	return []transportRow{
		{"HTTP body over the limit (Content-Length)", func(t *testing.T, e *badEnv) {
			a := e.httpSend(t, binaryReq("image/png", nil), overBody)
			checkAnswer(t, "http", badRow{code: host.CodeTooLarge, status: 413}, a)
		}},
		{"HTTP body over the limit (chunked)", func(t *testing.T, e *badEnv) {
			req, _ := http.NewRequest(http.MethodPost, e.th.httpURL+"/", io.MultiReader(bytes.NewReader(overBody)))
			req.ContentLength = -1
			for k, v := range binaryReq("image/png", nil) {
				req.Header.Set(k, v)
			}
			resp, body := httpDo(t, req)
			a := parseAnswer(t, resp.Header.Get("Ce-Type"), body)
			a.status = resp.StatusCode
			checkAnswer(t, "http", badRow{code: host.CodeTooLarge, status: 413}, a)
		}},
		{"HTTP wrong method", func(t *testing.T, e *badEnv) {
			// GET / is the page to try the host (TestPageInBrowser).
			for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
				req, _ := http.NewRequest(m, e.th.httpURL+"/", nil)
				if resp, _ := httpDo(t, req); resp.StatusCode != http.StatusMethodNotAllowed {
					t.Errorf("%s /: %d, want 405", m, resp.StatusCode)
				}
			}
		}},
		{"HTTP wrong path", func(t *testing.T, e *badEnv) {
			req, _ := http.NewRequest(http.MethodPost, e.th.httpURL+"/../../etc/passwd", bytes.NewReader(e.good))
			req.URL.Path = "/ocr/../../etc/passwd" // sent as is, not cleaned by the client
			if resp, _ := httpDo(t, req); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMovedPermanently {
				t.Errorf("status %d, want 404 or a redirect to the clean path", resp.StatusCode)
			}
		}},
		{"HTTP headers over 64 KiB", func(t *testing.T, e *badEnv) {
			req, _ := http.NewRequest(http.MethodPost, e.th.httpURL+"/", bytes.NewReader(e.good))
			for k, v := range binaryReq("", nil) {
				req.Header.Set(k, v)
			}
			req.Header.Set("Ce-Padding", strings.Repeat("x", 80<<10))
			if resp, _ := httpDo(t, req); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("status %d, want 431", resp.StatusCode)
			}
		}},
		{"HTTP slowloris", func(t *testing.T, e *badEnv) {
			// OCRHOST_HTTP_READ_HEADER_TIMEOUT is 1s here: a client that
			// never finishes its headers is cut off soon after.
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.th.httpURL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\n"); err != nil {
				t.Fatal(err)
			}
			closed := false
			for i := 0; i < 100 && !closed; i++ {
				time.Sleep(100 * time.Millisecond)
				_, err := fmt.Fprintf(conn, "X-Slow-%d: y\r\n", i)
				closed = err != nil
			}
			if !closed {
				// Writes may still land in the socket buffer: the read tells.
				conn.SetReadDeadline(time.Now().Add(time.Second))
				_, err = bufio.NewReader(conn).ReadByte()
				closed = errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
			}
			if took := time.Since(start); !closed || took > 5*time.Second {
				t.Errorf("slow client still connected after %v (closed %v)", took.Round(time.Millisecond), closed)
			}
		}},
		{"NATS payload over the max payload, no object reference", func(t *testing.T, e *badEnv) {
			doc := make([]byte, e.nc.MaxPayload()+1)
			if _, err := e.nc.Request(events.DefaultRequestSubject, doc, 10*time.Second); !errors.Is(err, nats.ErrMaxPayload) {
				t.Errorf("request-reply: %v, want nats.ErrMaxPayload", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := events.NewClient(e.nc).Request(ctx, events.DefaultRequestSubject, events.Document{Data: doc}); !errors.Is(err, jobs.ErrNoObjectStore) {
				t.Errorf("Request without JetStream: %v, want ErrNoObjectStore", err)
			}
		}},
		{"answer types published without a reply inbox are dropped", func(t *testing.T, e *badEnv) {
			for _, typ := range []string{events.TypeResult, events.TypeFailure} {
				h, id := withID(binaryReq("application/json", func(h map[string]string) { h["ce-type"] = typ }))
				m := nats.NewMsg(events.DefaultRequestSubject)
				for k, v := range h {
					m.Header.Set(k, v)
				}
				m.Data = []byte(`{"code":"busy","message":"m","retryable":true}`)
				if err := e.nc.PublishMsg(m); err != nil {
					t.Fatal(err)
				}
				e.expectNoAnswer(t, id)
			}
		}},
		{"answer type queued as a job is acked, not answered", func(t *testing.T, e *badEnv) {
			h, id := withID(binaryReq("application/json", func(h map[string]string) { h["ce-type"] = events.TypeResult }))
			m := nats.NewMsg("ocr.jobs.badinput")
			for k, v := range h {
				m.Header.Set(k, v)
			}
			m.Data = []byte(`{}`)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := e.js.PublishMsg(ctx, m, jetstream.WithMsgID(id)); err != nil {
				t.Fatal(err)
			}
			e.expectNoAnswer(t, id)
			e.expectQueueEmpty(t)
		}},
	}
}

// expectNoAnswer checks nothing answering id reaches the result subject
// within a second.
func (e *badEnv) expectNoAnswer(t testing.TB, id string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		rep, err := e.results.NextMsg(time.Until(deadline))
		if errors.Is(err, nats.ErrTimeout) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if rep.Header.Get("ce-requestid") == id {
			t.Fatalf("answer-typed event %s was answered: %s %s", id, rep.Header.Get("ce-type"), rep.Data)
		}
	}
}

// expectQueueEmpty checks every job was acknowledged: a bad job must not
// stay in the work queue to be redelivered.
func (e *badEnv) expectQueueEmpty(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := e.js.Consumer(ctx, jobs.DefaultStream, jobs.DefaultConsumer)
	if err != nil {
		t.Fatal(err)
	}
	var info *jetstream.ConsumerInfo
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if info, err = cons.Info(ctx); err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 0 && info.NumPending == 0 {
			return
		}
	}
	t.Errorf("work queue holds %d pending and %d unacked jobs", info.NumPending, info.NumAckPending)
}

func TestBadInputCatalogue(t *testing.T) {
	th := startServe(t, map[string]string{
		"OCRHOST_MAX_BODY_BYTES":           fmt.Sprint(badMaxBody),
		"OCRHOST_MAX_PAGES":                fmt.Sprint(badMaxPages),
		"OCRHOST_MAX_PIXELS":               fmt.Sprint(badMaxPixels),
		"OCRHOST_HTTP_READ_HEADER_TIMEOUT": "1s",
	})
	nc, js, results := jobClient(t, th)
	e := &badEnv{th: th, nc: nc, js: js, results: results, good: sampleDoc(t)}

	// A FIFO that a path-traversing option would reach: opening it to read
	// blocks until a writer comes, so the request would hang, and a
	// non-blocking writer could then open it.
	canary := filepath.Join(t.TempDir(), "canary")
	if err := syscall.Mkfifo(canary, 0o600); err != nil {
		t.Fatal(err)
	}
	rows := badRows(t, canary)
	e.line = e.readSample(t) // also loads the models before the first measurement
	// The second pass is there for the RSS comparison, which the race
	// detector's shadow memory would swamp; make test runs it without.
	passes := 2
	if testenv.Race() {
		passes = 1
	}
	rss := make([]uint64, passes)
	for pass := range rss {
		for _, r := range rows {
			t.Run(fmt.Sprintf("pass %d/%s", pass+1, r.name), func(t *testing.T) {
				if r.via&viaNATS != 0 {
					checkAnswer(t, "nats", r, e.natsSend(t, r.headers, r.body))
				}
				if r.via&viaHTTP != 0 {
					checkAnswer(t, "http", r, e.httpSend(t, r.headers, r.body))
				}
				if r.via&viaJS != 0 {
					checkAnswer(t, "jetstream", r, e.jsSend(t, r.headers, r.body))
				}
				e.alive(t)
			})
		}
		for _, r := range transportRows() {
			t.Run(fmt.Sprintf("pass %d/%s", pass+1, r.name), func(t *testing.T) {
				r.run(t, e)
				e.alive(t)
			})
		}
		e.readSample(t)
		e.expectQueueEmpty(t)
		// The host shares this process with the test's clients: their
		// garbage is collected and returned first, and glibc trimmed as
		// the host does after an unload, so what remains is what the host
		// keeps.
		memory.Release()
		rss[pass] = e.rss(t)
	}
	if f, err := os.OpenFile(canary, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
		t.Error("the canary FIFO has a reader: an option opened a file")
	}
	if testenv.Race() {
		t.Logf("RSS after the table: %d MiB (-race build: not checked)", rss[0]>>20)
		return
	}
	t.Logf("RSS after pass 1: %d MiB, after pass 2: %d MiB", rss[0]>>20, rss[1]>>20)
	if max(rss[0], rss[1]) > badRSSCeiling {
		t.Errorf("RSS over the %d MiB ceiling", badRSSCeiling>>20)
	}
	if rss[1] > rss[0]+badRSSGrowth {
		t.Errorf("RSS grew from %d to %d MiB over a second pass", rss[0]>>20, rss[1]>>20)
	}
}
