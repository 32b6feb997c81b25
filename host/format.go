package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/function/document"
	"github.com/ocrhost/ocrhost/function/imgproc"
)

// The output format is the host's business, not the pipeline's: it is how
// a whole response (a document's pages put together, their images) is
// written, so the host takes "format" out of the options before the
// function reads the rest.

// SplitFormat takes the "format" member out of a JSON options object and
// returns it ("" when absent) with the other members. A bad format is
// CodeInvalidInput.
func SplitFormat(raw json.RawMessage) (string, json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || !bytes.Contains(raw, []byte(`"format"`)) {
		return "", raw, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return "", raw, nil // the function's parser reports what is wrong
	}
	f, ok := members["format"]
	if !ok {
		return "", raw, nil
	}
	var name string
	if err := json.Unmarshal(f, &name); err != nil {
		return "", nil, Fail(CodeInvalidInput, fmt.Errorf("option format: want a string, got %s", f))
	}
	if _, err := format.Parse(name); err != nil {
		return "", nil, Fail(CodeInvalidInput, err)
	}
	delete(members, "format")
	rest, err := json.Marshal(members)
	if err != nil {
		return "", nil, Fail(CodeInvalidInput, err)
	}
	return name, rest, nil
}

// outputFormat is the format a request is answered in: its options'
// format, else the format whose media type its transport's client asked
// for, else the deployment's.
func (h *Host) outputFormat(named string, req *Request) format.Format {
	if named != "" {
		f, _ := format.Parse(named) // checked by SplitFormat
		return f
	}
	if f, ok := format.ForMediaType(req.Accept); ok {
		return f
	}
	return h.cfg.format
}

// output writes a response's pages in a format other than JSON.
type output struct {
	f   format.Format
	buf bytes.Buffer
	w   format.Writer
	// keep is set for a PDF asked for as a PDF: its own pages are kept
	// and each OCRed page gets the text of layer added.
	keep  bool
	layer []document.TextPage
}

// newOutput returns nil for JSON, the response itself.
func newOutput(f format.Format) (*output, error) {
	if f == format.JSON || f == "" {
		return nil, nil
	}
	o := &output{f: f}
	w, err := format.NewWriter(&o.buf, f)
	if err != nil {
		return nil, Fail(CodeInvalidInput, err)
	}
	o.w = w
	return o, nil
}

// page writes one page; img is dropped when the format does not draw it.
// hasText says the page carries text already: a PDF kept as it is gets
// no layer over it.
func (o *output) page(p format.Page, img *imgproc.Image, jpeg []byte, hasText bool) error {
	if o == nil || o.keep && hasText {
		return nil
	}
	if o.keep {
		tp := document.TextPage{Number: p.Number, Width: p.Width, Height: p.Height}
		for _, r := range format.Runs(p) {
			tp.Runs = append(tp.Runs, document.TextRun{Text: r.Text, Size: r.Size, Matrix: r.Matrix})
		}
		o.layer = append(o.layer, tp)
		return nil
	}
	if o.f.NeedsImage() {
		p.Image, p.JPEG = img, jpeg
	}
	if err := o.w.WritePage(p); err != nil {
		return fmt.Errorf("host: writing %s: %w", o.f, err)
	}
	return nil
}

// drawsPages reports whether the output draws each page's image, which a
// page read from its text layer then needs rendered.
func (o *output) drawsPages() bool { return o != nil && !o.keep && o.f.NeedsImage() }

// keepPages makes a PDF asked for as a PDF keep its own pages: finishPDF
// then adds the text layer to them.
func (o *output) keepPages() {
	if o != nil && o.f == format.PDF {
		o.keep = true
	}
}

// finishPDF adds the text of every OCRed page to the PDF data, keeping
// the file as it was otherwise (an incremental update), and puts it on
// resp.
func (o *output) finishPDF(ctx context.Context, r *document.Renderer, data []byte, resp *Response) error {
	out, err := r.AddText(ctx, data, o.layer)
	if err != nil {
		return fmt.Errorf("host: adding the text layer: %w", err)
	}
	resp.Output, resp.OutputType = out, o.f.ContentType()
	return nil
}

// finish ends the output and puts it on resp.
func (o *output) finish(resp *Response) error {
	if o == nil {
		return nil
	}
	if err := o.w.Close(); err != nil {
		return fmt.Errorf("host: writing %s: %w", o.f, err)
	}
	resp.Output, resp.OutputType = o.buf.Bytes(), o.f.ContentType()
	return nil
}
