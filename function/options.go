package function

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ocrhost/ocrhost/function/dbnet"
)

// ErrInvalidOptions means a call's options are unknown, mistyped or out of range.
var ErrInvalidOptions = errors.New("function: invalid options")

// Stages selects the parts of the pipeline a call runs.
type Stages struct {
	Detect    bool
	Classify  bool
	Recognize bool
}

// Preset names a reference configuration.
type Preset string

const (
	// PresetOCRHost is the default: RapidOCR's configuration with the
	// detection upscale capped (DetMaxSideLen 1600), which scored best on
	// the shared test set at a fraction of the time (docs/figures.md, "Accuracy and speed").
	PresetOCRHost Preset = "ocrhost"
	// PresetRapidOCR is RapidOCR v1.4.4's config.yaml.
	PresetRapidOCR Preset = "rapidocr"
	// PresetPaddleOCR is PaddleOCR 2.x tools/infer defaults.
	PresetPaddleOCR Preset = "paddleocr"
)

// Order names how lines are ordered in the result.
type Order string

const (
	// OrderReading is the order a person reads, columns included.
	OrderReading Order = "reading"
	// OrderRapidOCR is RapidOCR's top-to-bottom sort with its 10 px row rule.
	OrderRapidOCR Order = "rapidocr"
)

// Options configure one call. Build them with DefaultOptions or PresetOptions
// and adjust; ParseOptions applies a JSON object on top.
type Options struct {
	Stages Stages

	// Global pre-resize and letterbox (RapidOCR only; 0 disables).
	MaxSideLen int
	MinSideLen int
	Letterbox  bool

	// Detection input resize: the short side is raised to DetLimitSideLen
	// ("min") or the long side is capped at it ("max").
	DetLimitSideLen int
	DetLimitType    string
	// DetMaxSideLen caps the long side when "min" scales an image up
	// (0: no cap, RapidOCR's behaviour). Upscaling a wide strip until its
	// short side is 736 makes multi-megapixel inputs that cost seconds and
	// gain nothing (docs/figures.md, "Accuracy and speed").
	DetMaxSideLen int
	// DetScale chooses the detection size from the limits alone or from
	// the text's size too (DetScaleAuto: a probe pass at DetProbeSide on
	// the long side, or at the image's own size where the limits upscale
	// it, then a pass that brings the median line's box to
	// DetTextHeight pixels, within the limits). Auto is the ocrhost
	// preset's default; the rapidocr and paddleocr presets keep fixed, as
	// their references run. Under auto the fixed size is an upper bound,
	// and Trace.DetSized reports the size used.
	DetScale      DetScale
	DetProbeSide  int
	DetTextHeight float64
	// DetMean/DetStd normalise det input per BGR channel.
	DetMean, DetStd [3]float32
	DB              dbnet.Params

	ClsThresh float32
	// PageOrientation lets the page's majority decide lines the direction
	// classifier is unsure of (ocrhost preset; RapidOCR decides each line alone).
	PageOrientation bool
	ClsBatch        int
	RecBatch        int
	// RecTight pads a recognition batch one line height past its widest
	// line, up to 320, where RapidOCR and PaddleOCR pad every batch to at
	// least 320 (ocrhost preset; docs/pipeline.md, "Recognition width").
	RecTight  bool
	DropScore float32
	Order     Order
	// FigureText keeps text found inside pictures in the text and Markdown
	// (it is always in the lines and blocks).
	FigureText bool
	// Tables reads each table block into a grid of cells (order "reading";
	// the seed's enable_tables). Off, a table reads as lines.
	Tables bool

	// Document applies to multi-page inputs (PDF, multi-page TIFF).
	Document DocumentOptions
}

// DocumentOptions select and pace the pages of a multi-page document.
type DocumentOptions struct {
	FirstPage, LastPage int // 1-based, inclusive; 0: from the first / to the last
	DPI                 int // PDF rendering resolution; 0: the deployment's default
	BatchSize           int // pages between progress reports (rendered one at a time); 0: the deployment's default
	Markdown            bool
	PdfText             PdfText // what a PDF's text layer is used for; "": PdfTextAuto
}

// PdfText names what is done with the text a PDF page carries.
type PdfText string

const (
	// PdfTextAuto reads the text of pages that have it and recognises the
	// others; a page with text and large pictures gets both (mixed).
	PdfTextAuto PdfText = "auto"
	// PdfTextExtract only reads text: a page without any comes back empty.
	PdfTextExtract PdfText = "extract"
	// PdfTextOCR recognises every page as rendered, text layer or not.
	PdfTextOCR PdfText = "ocr"
)

// DefaultOptions is PresetOptions(PresetOCRHost).
func DefaultOptions() Options { return PresetOptions(PresetOCRHost) }

// PresetOptions returns the reference configuration p, all stages on.
func PresetOptions(p Preset) Options {
	o := Options{
		Stages:        Stages{Detect: true, Classify: true, Recognize: true},
		DetScale:      DetScaleFixed,
		DetProbeSide:  960,
		DetTextHeight: 24,
		ClsThresh:     0.9,
		ClsBatch:      6,
		RecBatch:      6,
		DropScore:     0.5,
		Order:         OrderReading,
		Tables:        true,
	}
	switch p {
	case PresetPaddleOCR:
		o.DetLimitSideLen, o.DetLimitType = 960, "max"
		o.DetMean = [3]float32{0.485, 0.456, 0.406}
		o.DetStd = [3]float32{0.229, 0.224, 0.225}
		o.DB = dbnet.PaddleOCRParams()
	default:
		o.MaxSideLen, o.MinSideLen, o.Letterbox = 2000, 30, true
		o.DetLimitSideLen, o.DetLimitType = 736, "min"
		o.DetMean = [3]float32{0.5, 0.5, 0.5}
		o.DetStd = [3]float32{0.5, 0.5, 0.5}
		o.DB = dbnet.RapidOCRParams()
		if p != PresetRapidOCR {
			o.DetMaxSideLen = 1600
			o.PageOrientation = true
			o.DetScale = DetScaleAuto
			o.RecTight = true
		}
	}
	return o
}

// Models lists the model kinds the options need.
func (o Options) Models() []Kind {
	var ks []Kind
	if o.Stages.Detect {
		ks = append(ks, KindDet)
	}
	if o.Stages.Classify {
		ks = append(ks, KindCls)
	}
	if o.Stages.Recognize {
		ks = append(ks, KindRec)
	}
	return ks
}

// wireOptions is the JSON form of per-call options. Pointers tell "absent"
// from zero.
type wireOptions struct {
	Preset          *string   `json:"preset"`
	Stages          *[]string `json:"stages"`
	Order           *string   `json:"order"`
	DetLimitSideLen *int      `json:"det_limit_side_len"`
	DetLimitType    *string   `json:"det_limit_type"`
	DetMaxSideLen   *int      `json:"det_max_side_len"`
	DetScale        *string   `json:"det_scale"`
	Thresh          *float32  `json:"det_thresh"`
	BoxThresh       *float32  `json:"box_thresh"`
	UnclipRatio     *float64  `json:"unclip_ratio"`
	UseDilation     *bool     `json:"use_dilation"`
	ClsThresh       *float32  `json:"cls_thresh"`
	DropScore       *float32  `json:"drop_score"`
	RecBatch        *int      `json:"rec_batch_num"`
	ClsBatch        *int      `json:"cls_batch_num"`
	FirstPage       *int      `json:"first_page"`
	LastPage        *int      `json:"last_page"`
	DPI             *int      `json:"dpi"`
	BatchSize       *int      `json:"batch_size"`
	Markdown        *bool     `json:"markdown"`
	FigureText      *bool     `json:"figure_text"`
	Tables          *bool     `json:"tables"`
	PdfText         *string   `json:"pdf_text"`
}

// ParseOptions applies the JSON object raw on top of base. Unknown fields,
// wrong types and out-of-range values are ErrInvalidOptions. A "preset"
// replaces base before the other fields apply.
func ParseOptions(raw json.RawMessage, base Options) (Options, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return base, nil
	}
	var w wireOptions
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return base, fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	if dec.More() {
		return base, fmt.Errorf("%w: trailing data after the options object", ErrInvalidOptions)
	}
	o := base
	bad := func(format string, args ...any) (Options, error) {
		return base, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...)
	}
	if w.Preset != nil {
		switch p := Preset(*w.Preset); p {
		case PresetOCRHost, PresetRapidOCR, PresetPaddleOCR:
			stages, order, tables := o.Stages, o.Order, o.Tables
			o = PresetOptions(p)
			o.Stages, o.Order, o.Tables = stages, order, tables
		default:
			return bad("preset %q (want ocrhost, rapidocr or paddleocr)", *w.Preset)
		}
	}
	if w.Stages != nil {
		o.Stages = Stages{}
		for _, s := range *w.Stages {
			switch s {
			case "det":
				o.Stages.Detect = true
			case "cls":
				o.Stages.Classify = true
			case "rec":
				o.Stages.Recognize = true
			default:
				return bad("stage %q (want det, cls or rec)", s)
			}
		}
		if !o.Stages.Detect && !o.Stages.Recognize {
			return bad("stages must include det or rec")
		}
	}
	if w.Order != nil {
		switch ord := Order(*w.Order); ord {
		case OrderReading, OrderRapidOCR:
			o.Order = ord
		default:
			return bad("order %q (want reading or rapidocr)", *w.Order)
		}
	}
	if v := w.DetLimitSideLen; v != nil {
		if *v < 32 || *v > 4096 {
			return bad("det_limit_side_len %d outside [32, 4096]", *v)
		}
		o.DetLimitSideLen = *v
	}
	if v := w.DetLimitType; v != nil {
		if *v != "min" && *v != "max" {
			return bad("det_limit_type %q (want min or max)", *v)
		}
		o.DetLimitType = *v
	}
	if v := w.DetMaxSideLen; v != nil {
		if *v != 0 && (*v < 32 || *v > 8192) {
			return bad("det_max_side_len %d: 0 or within [32, 8192]", *v)
		}
		o.DetMaxSideLen = *v
	}
	if v := w.DetScale; v != nil {
		switch s := DetScale(*v); s {
		case DetScaleFixed, DetScaleAuto:
			o.DetScale = s
		default:
			return bad("det_scale %q (want fixed or auto)", *v)
		}
	}
	unit := func(name string, v *float32, dst *float32) error {
		if v == nil {
			return nil
		}
		if *v < 0 || *v > 1 {
			return fmt.Errorf("%w: %s %v outside [0, 1]", ErrInvalidOptions, name, *v)
		}
		*dst = *v
		return nil
	}
	for _, f := range []struct {
		name string
		v    *float32
		dst  *float32
	}{
		{"det_thresh", w.Thresh, &o.DB.Thresh},
		{"box_thresh", w.BoxThresh, &o.DB.BoxThresh},
		{"cls_thresh", w.ClsThresh, &o.ClsThresh},
		{"drop_score", w.DropScore, &o.DropScore},
	} {
		if err := unit(f.name, f.v, f.dst); err != nil {
			return base, err
		}
	}
	if v := w.UnclipRatio; v != nil {
		if *v < 0.5 || *v > 4 {
			return bad("unclip_ratio %v outside [0.5, 4]", *v)
		}
		o.DB.UnclipRatio = *v
	}
	if w.UseDilation != nil {
		o.DB.UseDilation = *w.UseDilation
	}
	for _, f := range []struct {
		name string
		v    *int
		dst  *int
	}{{"rec_batch_num", w.RecBatch, &o.RecBatch}, {"cls_batch_num", w.ClsBatch, &o.ClsBatch}} {
		if f.v != nil {
			if *f.v < 1 || *f.v > 64 {
				return bad("%s %d outside [1, 64]", f.name, *f.v)
			}
			*f.dst = *f.v
		}
	}
	for _, f := range []struct {
		name   string
		v      *int
		dst    *int
		lo, hi int
	}{
		{"first_page", w.FirstPage, &o.Document.FirstPage, 1, 1 << 20},
		{"last_page", w.LastPage, &o.Document.LastPage, 1, 1 << 20},
		{"dpi", w.DPI, &o.Document.DPI, 50, 600},
		{"batch_size", w.BatchSize, &o.Document.BatchSize, 1, 100},
	} {
		if f.v != nil {
			if *f.v < f.lo || *f.v > f.hi {
				return bad("%s %d outside [%d, %d]", f.name, *f.v, f.lo, f.hi)
			}
			*f.dst = *f.v
		}
	}
	if d := o.Document; d.FirstPage > 0 && d.LastPage > 0 && d.LastPage < d.FirstPage {
		return bad("last_page %d before first_page %d", d.LastPage, d.FirstPage)
	}
	if w.PdfText != nil {
		switch v := PdfText(*w.PdfText); v {
		case PdfTextAuto, PdfTextExtract, PdfTextOCR:
			o.Document.PdfText = v
		default:
			return bad("pdf_text %q (want auto, extract or ocr)", *w.PdfText)
		}
	}
	if w.FigureText != nil {
		o.FigureText = *w.FigureText
	}
	if w.Markdown != nil {
		o.Document.Markdown = *w.Markdown
	}
	if w.Tables != nil {
		o.Tables = *w.Tables
	}
	return o, nil
}
