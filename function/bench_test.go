package function_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/function/imageio"
	"github.com/ocrhost/ocrhost/internal/testenv"
	"github.com/ocrhost/ocrhost/internal/textmetric"
)

// peakRSS is the process's high-water RSS (VmHWM) in bytes.
func peakRSS() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkPipeline runs the full pipeline over every full-page image of
// the shared set (the manifest rows that are not recognition-only) and
// reports per-stage time per image, the pre/post-processing overhead as a
// fraction of inference, images per second, the mean CER against the rows
// with ground truth, and peak RSS. README, "Figures".
func BenchmarkPipeline(b *testing.B) {
	dir, rows := readManifest(b)
	models := testenv.LoadAll(b)
	type doc struct {
		name string
		data []byte
		gt   string
	}
	var docs []doc
	for _, r := range rows {
		e := parseExpectation(r)
		if e.recOnly || e.clsLabel180 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, r.file))
		if err != nil {
			b.Fatal(err)
		}
		d := doc{name: r.file, data: data, gt: e.gtText}
		if e.gtFile != "" {
			gt, _ := os.ReadFile(filepath.Join(dir, e.gtFile))
			d.gt = string(gt)
		}
		docs = append(docs, d)
	}
	opts := function.DefaultOptions()
	var sum function.Timings
	var cer float64
	scored, images := 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			t0 := time.Now()
			img, _, err := imageio.Decode(d.data)
			if err != nil {
				b.Fatal(err)
			}
			decode := time.Since(t0)
			res, err := function.Run(context.Background(), models, img, opts)
			if err != nil {
				b.Fatal(err)
			}
			tm := res.Timings
			sum.Decode += decode
			sum.DetPre += tm.DetPre
			sum.DetInfer += tm.DetInfer
			sum.DetPost += tm.DetPost
			sum.Crop += tm.Crop
			sum.Classify += tm.Classify
			sum.ClsInfer += tm.ClsInfer
			sum.Recognize += tm.Recognize
			sum.RecInfer += tm.RecInfer
			sum.Order += tm.Order
			sum.Total += tm.Total + decode
			images++
			if d.gt != "" {
				cer += textmetric.CER(res.Text(), d.gt)
				scored++
			}
		}
	}
	b.StopTimer()
	n := float64(images)
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / n }
	infer := sum.DetInfer + sum.ClsInfer + sum.RecInfer
	overhead := sum.DetPre + sum.DetPost + sum.Crop + (sum.Classify - sum.ClsInfer) + (sum.Recognize - sum.RecInfer) + sum.Order
	b.ReportMetric(n/sum.Total.Seconds(), "img/s")
	b.ReportMetric(ms(sum.Decode), "decode-ms/img")
	b.ReportMetric(ms(sum.DetPre), "det-pre-ms/img")
	b.ReportMetric(ms(sum.DetInfer), "det-infer-ms/img")
	b.ReportMetric(ms(sum.DetPost), "det-post-ms/img")
	b.ReportMetric(ms(sum.Crop), "crop-ms/img")
	b.ReportMetric(ms(sum.Classify), "cls-ms/img")
	b.ReportMetric(ms(sum.Recognize), "rec-ms/img")
	b.ReportMetric(100*overhead.Seconds()/infer.Seconds(), "overhead-%")
	b.ReportMetric(100*(overhead+sum.Decode).Seconds()/infer.Seconds(), "overhead+decode-%")
	if scored > 0 {
		b.ReportMetric(cer/float64(scored), "mean-CER")
	}
	b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPresets runs each preset over the rows with a ground-truth file
// and reports time per image, detection time per image, mean CER (reading
// order) and mean bag F1. README, "Presets on the ground-truth rows".
func BenchmarkPresets(b *testing.B) {
	dir, rows := readManifest(b)
	models := testenv.LoadAll(b)
	type doc struct {
		data []byte
		gt   string
	}
	var docs []doc
	for _, r := range rows {
		e := parseExpectation(r)
		if e.gtFile == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, r.file))
		if err != nil {
			b.Fatal(err)
		}
		gt, err := os.ReadFile(filepath.Join(dir, e.gtFile))
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, doc{data, string(gt)})
	}
	max960 := function.PresetOptions(function.PresetRapidOCR)
	max960.DetLimitSideLen, max960.DetLimitType = 960, "max"
	for _, v := range []struct {
		name string
		opts function.Options
	}{
		{"ocrhost", function.PresetOptions(function.PresetOCRHost)},
		{"rapidocr", function.PresetOptions(function.PresetRapidOCR)},
		{"paddleocr", function.PresetOptions(function.PresetPaddleOCR)},
		{"rapidocr-max960", max960},
	} {
		b.Run(v.name, func(b *testing.B) {
			var total, det time.Duration
			var cer, f1 float64
			n := 0
			for i := 0; i < b.N; i++ {
				for _, d := range docs {
					img, _, err := imageio.Decode(d.data)
					if err != nil {
						b.Fatal(err)
					}
					t0 := time.Now()
					res, err := function.Run(context.Background(), models, img, v.opts)
					if err != nil {
						b.Fatal(err)
					}
					total += time.Since(t0)
					det += res.Timings.DetPre + res.Timings.DetInfer + res.Timings.DetPost
					cer += textmetric.CER(res.Text(), d.gt)
					f1 += textmetric.BagF1(res.Text(), d.gt)
					n++
				}
			}
			b.ReportMetric(total.Seconds()/float64(n), "s/img")
			b.ReportMetric(det.Seconds()/float64(n), "det-s/img")
			b.ReportMetric(cer/float64(n), "mean-CER")
			b.ReportMetric(f1/float64(n), "mean-F1")
			b.ReportMetric(0, "ns/op")
		})
	}
}
