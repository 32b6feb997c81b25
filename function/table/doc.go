// Package table reads a table block's text lines into a grid of cells.
//
// No table-structure model is available to this project, so the grid comes
// from the page itself, as the classic extractors build it:
//
//   - Ruling lines (Camelot's "lattice", img2table) are found by morphology
//     on the binarised page inside the block: runs of ink at least a few line
//     heights long, horizontal and vertical, measured on the block turned
//     level by the skew of its lines.
//   - Columns (Camelot's "stream", Tabula) are the vertical whitespace inside
//     the block: x-ranges no line of the fuller rows covers (those with at
//     least the median number of lines, so spanning heads and continued
//     cells make none); a vertical ruling with no text across it is a
//     column boundary too, and the outermost rulings as tall as the table
//     are its border.
//   - Rows are the lines' vertical centres clustered, each row a text row.
//
// Cells merge where the page says so: a line crossing a column boundary
// spans those columns; a line that reaches over the centres of the rows
// above and below it spans them; a vertical ruling that stops short of a
// row joins that row's cells on either side; a text row whose first column
// is empty and whose other cells all sit under single-column cells of the
// row above, with no ruling between, continues that row's cells (a cell of
// several lines). A horizontal ruling between two rows always keeps them
// apart.
//
// The package knows nothing of recognition: the caller reads the empty
// cells that hold ink the detector missed.
//
// Every distance is a multiple of the median line height H, so the rules
// hold at any resolution; the constants name them. docs/tables.md in the
// repository gives the method and the accuracy reached on real tables.
package table
