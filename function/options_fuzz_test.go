package function

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParseOptions feeds arbitrary bytes as per-call options, the general
// and the document ones. A refusal is ErrInvalidOptions and leaves the
// base untouched; anything accepted is within the documented ranges,
// parsing it again on top of the result changes nothing, and the plan for
// a page can be made from it.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, ` {} `,
		`{"preset":"paddleocr","stages":["det","rec"],"order":"rapidocr"}`,
		`{"preset":"rapidocr","det_limit_side_len":960,"det_limit_type":"max","det_max_side_len":0}`,
		`{"det_thresh":0.3,"box_thresh":0.6,"unclip_ratio":1.6,"use_dilation":true,"cls_thresh":0.9,"drop_score":0.5}`,
		`{"rec_batch_num":6,"cls_batch_num":64,"stages":["rec"]}`,
		`{"first_page":2,"last_page":4,"dpi":300,"batch_size":10,"markdown":true}`,
		`{"first_page":3,"last_page":2}`, `{"first_page":-1}`, `{"dpi":"high"}`, `{"languages":["en"]}`,
		`{"preset":"../../etc/passwd"}`, `{"stages":[]}`, `{"stages":["cls"]}`, `[1,2]`, `{"dpi":1e300}`,
		`{"det_thresh":NaN}`, `{} {}`, `{"dpi":100}x`, `{"preset":null,"stages":null}`, `{"DPI":100}`,
		`{"dpi":100,"dpi":200}`, `{"det_max_side_len":31}`, `{"unclip_ratio":4.0000001}`,
		`{"pdf_text":"extract"}`, `{"pdf_text":"OCR"}`, `{"pdf_text":1}`,
		`{"det_scale":"auto"}`, `{"preset":"rapidocr","det_scale":"auto"}`, `{"det_scale":"AUTO"}`, `{"det_scale":1}`,
	} {
		f.Add([]byte(s))
	}
	base := DefaultOptions()
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := ParseOptions(raw, base)
		if err != nil {
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("error %q is not ErrInvalidOptions", err)
			}
			if !reflect.DeepEqual(o, base) {
				t.Fatalf("a refusal changed the options: %+v", o)
			}
			return
		}
		checkRanges(t, o)
		again, err := ParseOptions(raw, o)
		if err != nil || !reflect.DeepEqual(again, o) {
			t.Fatalf("options %q not idempotent: %v\n%+v\n%+v", raw, err, o, again)
		}
		for _, size := range [][2]int{{1, 1}, {827, 1169}, {4000, 30}} {
			if _, err := PlanFor(size[0], size[1], o); err != nil && !errors.Is(err, ErrBadImage) {
				t.Fatalf("plan for %v: %v", size, err)
			}
		}
	})
}

func checkRanges(t *testing.T, o Options) {
	t.Helper()
	unit := func(v float32) bool { return v >= 0 && v <= 1 }
	d := o.Document
	switch {
	case !o.Stages.Detect && !o.Stages.Recognize:
		t.Fatalf("no det nor rec: %+v", o.Stages)
	case o.Order != OrderReading && o.Order != OrderRapidOCR:
		t.Fatalf("order %q", o.Order)
	case o.DetLimitSideLen < 32 || o.DetLimitSideLen > 4096:
		t.Fatalf("det_limit_side_len %d", o.DetLimitSideLen)
	case o.DetLimitType != "min" && o.DetLimitType != "max":
		t.Fatalf("det_limit_type %q", o.DetLimitType)
	case o.DetScale != DetScaleFixed && o.DetScale != DetScaleAuto:
		t.Fatalf("det_scale %q", o.DetScale)
	case o.DetMaxSideLen != 0 && (o.DetMaxSideLen < 32 || o.DetMaxSideLen > 8192):
		t.Fatalf("det_max_side_len %d", o.DetMaxSideLen)
	case !unit(o.DB.Thresh) || !unit(o.DB.BoxThresh) || !unit(o.ClsThresh) || !unit(o.DropScore):
		t.Fatalf("a threshold outside [0, 1]: %+v", o)
	case o.DB.UnclipRatio < 0.5 || o.DB.UnclipRatio > 4:
		t.Fatalf("unclip_ratio %v", o.DB.UnclipRatio)
	case o.RecBatch < 1 || o.RecBatch > 64 || o.ClsBatch < 1 || o.ClsBatch > 64:
		t.Fatalf("batches %d %d", o.RecBatch, o.ClsBatch)
	case d.FirstPage < 0 || d.LastPage < 0 || (d.FirstPage > 0 && d.LastPage > 0 && d.LastPage < d.FirstPage):
		t.Fatalf("page range %d-%d", d.FirstPage, d.LastPage)
	case d.DPI != 0 && (d.DPI < 50 || d.DPI > 600):
		t.Fatalf("dpi %d", d.DPI)
	case d.BatchSize < 0 || d.BatchSize > 100:
		t.Fatalf("batch_size %d", d.BatchSize)
	case d.PdfText != "" && d.PdfText != PdfTextAuto && d.PdfText != PdfTextExtract && d.PdfText != PdfTextOCR:
		t.Fatalf("pdf_text %q", d.PdfText)
	}
}
