package function

import "time"

// Point is a pixel position in the original image (after EXIF orientation).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Quad is a text box: top-left, top-right, bottom-right, bottom-left.
type Quad [4]Point

// Line is one recognised text line.
type Line struct {
	Text       string  `json:"text"`
	Confidence float32 `json:"confidence"`
	Box        Quad    `json:"box"`
	// Rotated is true when the direction classifier turned the crop 180°.
	Rotated bool `json:"rotated,omitempty"`
	// Words split Text at its spaces, in reading order; absent when
	// recognition did not run.
	Words []Word `json:"words,omitempty"`
}

// Word is one word of a line: a run of characters between spaces.
type Word struct {
	Text string `json:"text"`
	// Confidence is the mean probability of the word's characters.
	Confidence float32 `json:"confidence"`
	// Box is the part of the line's box the word covers, its corners in
	// the same order as the line's.
	Box Quad `json:"box"`
}

// Timings are per-stage wall times of one call.
type Timings struct {
	Decode    time.Duration `json:"decode_ns"`
	DetPre    time.Duration `json:"det_pre_ns"`
	DetInfer  time.Duration `json:"det_infer_ns"`
	DetPost   time.Duration `json:"det_post_ns"`
	Crop      time.Duration `json:"crop_ns"`
	Classify  time.Duration `json:"cls_ns"`
	ClsInfer  time.Duration `json:"cls_infer_ns"`
	Recognize time.Duration `json:"rec_ns"`
	RecInfer  time.Duration `json:"rec_infer_ns"`
	Order     time.Duration `json:"order_ns"`
	// Tables is the table analysis, beside the layout in Order.
	Tables time.Duration `json:"tables_ns"`
	Total  time.Duration `json:"total_ns"`
}

// Add adds o's stage times to t, as a document sums its pages'.
func (t *Timings) Add(o Timings) {
	t.Decode += o.Decode
	t.DetPre += o.DetPre
	t.DetInfer += o.DetInfer
	t.DetPost += o.DetPost
	t.Crop += o.Crop
	t.Classify += o.Classify
	t.ClsInfer += o.ClsInfer
	t.Recognize += o.Recognize
	t.RecInfer += o.RecInfer
	t.Order += o.Order
	t.Tables += o.Tables
	t.Total += o.Total
}

// Block is a run of lines read together (layout.BlockType names the
// types: title, heading, paragraph, list, caption, header, footer,
// page_number, table, figure).
type Block struct {
	Type string `json:"type"`
	// Box is {x0, y0, x1, y1}, the bounds of the block's lines.
	Box [4]float64 `json:"box"`
	// Lines are indices into Result.Lines, in reading order.
	Lines []int `json:"lines"`
	// Table is the index into Result.Tables of a table block's grid.
	Table *int `json:"table,omitempty"`
}

// Table is a table block read into a grid of cells.
type Table struct {
	// Box is {x0, y0, x1, y1}: the table's lines and the rulings around them.
	Box  [4]float64 `json:"box"`
	Rows int        `json:"rows"`
	Cols int        `json:"cols"`
	// Cells cover every grid position exactly once, by row then column; a
	// spanned cell is written once, at its top-left position.
	Cells    []Cell `json:"cells"`
	HTML     string `json:"html"`
	Markdown string `json:"markdown"`
}

// Cell is one cell of a Table.
type Cell struct {
	Row     int    `json:"row"`
	Col     int    `json:"col"`
	RowSpan int    `json:"row_span"`
	ColSpan int    `json:"col_span"`
	Text    string `json:"text"`
	// Box is {x0, y0, x1, y1}, the cell's share of the grid.
	Box [4]float64 `json:"box"`
}

// Result is what one call returns: lines in reading order.
type Result struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Lines  []Line `json:"lines"`
	// Blocks group the lines in reading order (order "reading" only).
	Blocks []Block `json:"blocks,omitempty"`
	// Tables are the table blocks' grids in reading order (option tables).
	Tables []Table `json:"tables,omitempty"`
	// Dropped counts the lines detected but dropped for a recognition
	// confidence under drop_score.
	Dropped int     `json:"dropped_lines,omitempty"`
	Timings Timings `json:"timings"`
	// figureText keeps text inside pictures in Text and Markdown.
	figureText bool
}
