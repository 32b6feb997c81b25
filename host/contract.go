package host

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ocrhost/ocrhost/function"
)

// Request is one decoded invocation, whatever transport carried it.
type Request struct {
	// ID is the request CloudEvent's id; results carry it back.
	ID      string
	Source  string
	Subject string
	// Data is the document (image bytes); ContentType names its format
	// ("image/png", ...) or is empty to sniff it.
	Data        []byte
	ContentType string
	// Options is the raw JSON object of per-call options; unknown fields
	// are rejected with CodeInvalidInput.
	Options json.RawMessage
	// Progress, when set, is told after each batch of a multi-page
	// document how many of its pages are done.
	Progress func(done, total int)
	// Accept is the media type the transport's client prefers for the
	// answer (HTTP's Accept, its first choice); a format's media type
	// selects that format when the options name none.
	Accept string
}

// Code is a failure's stable, documented identifier.
type Code string

const (
	CodeInvalidInput       Code = "invalid_input"
	CodeUnsupportedFormat  Code = "unsupported_format"
	CodeTooLarge           Code = "too_large"
	CodeBusy               Code = "busy"
	CodeInsufficientMemory Code = "insufficient_memory"
	CodeInternal           Code = "internal"
)

// Retryable reports whether the same request may succeed later unchanged.
func (c Code) Retryable() bool { return c == CodeBusy || c == CodeInsufficientMemory }

// Failure is an error with its code; everything the host returns as an
// error is, or is classified into, a Failure.
type Failure struct {
	Code    Code
	Message string
	Err     error
}

func (f *Failure) Error() string { return fmt.Sprintf("%s: %s", f.Code, f.Message) }
func (f *Failure) Unwrap() error { return f.Err }

// Fail builds a Failure from an error with the given code.
func Fail(code Code, err error) *Failure {
	return &Failure{Code: code, Message: err.Error(), Err: err}
}

// AsFailure returns err as a *Failure, classifying it as internal when
// nothing more specific is known; nil stays nil.
func AsFailure(err error) *Failure {
	if err == nil {
		return nil
	}
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Code: CodeInternal, Message: err.Error(), Err: err}
}

// Response is a successful invocation's result and how it was produced.
type Response struct {
	ID string `json:"id"`
	function.Result
	// Models maps each model used to its file's identity (name@sha256 prefix).
	Models map[string]string `json:"models"`
	// Device is where inference ran ("cpu", "cuda:0").
	Device string `json:"device"`
	// Fallback is true when the GPU was short and the host ran on the CPU.
	Fallback bool `json:"cpu_fallback,omitempty"`
	// Pages holds each page of a multi-page document; the embedded Result
	// then holds all their lines in page order, the first page's size and
	// the summed timings.
	Pages []Page `json:"pages,omitempty"`
	// Text is the whole input as plain text in reading order, pages
	// separated by a form feed.
	Text string `json:"text"`
	// Markdown is the result as Markdown built from its blocks, on request
	// (option markdown); a document's pages each open with an HTML comment
	// naming the page.
	Markdown string `json:"markdown,omitempty"`
	// Output is the result in the format the request asked for, when it
	// is not JSON, and OutputType its media type; the transports send it
	// in place of the JSON.
	Output     []byte `json:"-"`
	OutputType string `json:"-"`
}

// Page is one page of a multi-page document.
type Page struct {
	Number int `json:"number"`
	// Method is how the page's text was had: "ocr" (recognised), "text"
	// (read from a PDF's text layer), "mixed" (both: the layer's text and
	// what was recognised in its pictures) or "none" (pdf_text extract on a
	// page without text: left empty).
	Method string          `json:"method"`
	Width  int             `json:"width"`
	Height int             `json:"height"`
	Lines  []function.Line `json:"lines"`
	// Blocks group the page's lines (indices into Lines) in reading order.
	Blocks []function.Block `json:"blocks,omitempty"`
	// Tables are the page's table blocks read into grids, in reading order.
	Tables  []function.Table `json:"tables,omitempty"`
	Dropped int              `json:"dropped_lines,omitempty"`
}
