// Package layout orders detected text boxes.
//
// Two orders are offered. [RapidOCRSort] reproduces RapidOCR v1.4.4 exactly
// (main.py:220-244), so results can be compared with the reference
// pipeline. [ReadingOrder] is the order a person reads a page in, including
// multi-column pages, tables and slightly skewed scans.
//
// # ReadingOrder
//
// Distance thresholds are multiples of H, the median box height after
// normalisation, so the rules work at any scan resolution.
//
// Normalisation, in this order:
//
//  1. Coordinates are clamped to the page (when pageW and pageH are positive).
//     NaN becomes 0 and infinities are clamped, so bad detector output still
//     gives a valid permutation.
//  2. Vertical pages. A box is tall when its height is at least 1.5 times its
//     width (measured along the quad's edges). When more than half of the
//     boxes are tall, x and y are swapped and the rest of the algorithm runs
//     unchanged. As a result, vertical text columns read left to right and
//     each column reads top to bottom. Traditional Chinese reads right to
//     left, but RapidOCR's own output (and its test image
//     text_vertical_words.png, whose expected first result is the leftmost
//     column) puts the leftmost column first. Matching RapidOCR keeps the two
//     orders consistent and predictable.
//  3. Deskew. The page angle is the median angle of the top and bottom edges
//     of boxes at least twice as wide as they are tall. Short boxes are left
//     out because the angle of a near-square minimum-area rectangle is
//     unreliable. If the angle is within ±20°, every quad is rotated back by
//     it. Axis-aligned bounding boxes are then taken. On a tilted page those
//     boxes would otherwise grow by width·sin(angle) and swallow the gaps
//     between lines. Beyond 20°, the page is treated as upright: the
//     detector's corner labels stop meaning "top-left" there.
//
// Recursive XY-cut on the bounding boxes. For a region:
//
//  1. Vertical cut (column gutter). Find the x-ranges that no box in the
//     region covers and that are at least 0.5·H wide. Such a gutter is
//     accepted only if all of the following hold:
//     - Extent: the vertical extents of the two sides overlap by at least
//     1.5·H, more than one line. A line split into words, or a staircase of
//     short lines and indented lines, therefore never makes a column. A drop
//     cap or a vertical label beside two or more lines does.
//     - Coverage: within that common range, each side's boxes cover at least
//     half of its height. Real columns are dense. A ragged single column
//     whose short lines and indented lines alternate leaves a gap that is
//     empty on both sides, but its lines interleave and each side covers
//     under half (about h/(2·pitch)). Such a column is therefore not cut.
//     - Not a table. Take the boxes directly next to the gutter on each side
//     (the x-projection segments touching it). If at least 80% of the boxes
//     on either side have a box on the other side whose vertical centre is
//     within 0.25·H, the two sides are aligned row by row. That is a table,
//     a form, a numbered list, or one line split into words at the same x in
//     every row, and all of these read row by row, so the gutter is
//     rejected. The lines of independent text columns line up only by
//     chance: with a pitch of about 1.5·H, a ±0.25·H window catches about a
//     third of them. Taking the better of the two sides lets a list still
//     count as a table when its wrapped items leave the text side only
//     partly aligned.
//     Among the accepted gutters the widest is used. The left part is read
//     before the right part.
//  2. Horizontal bands. With no acceptable gutter, the region is cut at
//     every horizontal gap. Gaps are measured on each box's core, the middle
//     70% of its height: detector boxes are padded (DB unclip), so boxes on
//     neighbouring lines often touch or overlap by a few pixels.
//  3. Band grouping. Cutting at every gap would slice a two-column section
//     into single rows, which cannot be told from a table. So consecutive
//     bands are merged while they share a free x-range at least 0.5·H wide
//     that has boxes of the merged bands on both sides. A full-width title,
//     footer or paragraph line has no such range, so it ends a group. A
//     column that runs on below its neighbour keeps sharing the gutter, so
//     unequal columns stay together. Each group is a region and is processed
//     from step 1 again, top to bottom. If all bands form one group, the
//     bands themselves are the regions.
//  4. Leaf. A region with one band and no gutter is split into rows. Boxes
//     are taken in order of vertical centre, and a box joins the current row
//     while its centre is within 0.5·H of the row's first box. Rows read top
//     to bottom and the boxes in a row read left to right.
//
// On a single-column page no gutter exists, or none passes the row and
// coverage rules, so the order is exactly top to bottom, left to right.
//
// Known limits:
//   - Two text columns set on a shared baseline grid, with 80% of their lines
//     aligned, are read as a table (row by row). Geometry cannot tell them
//     from a table whose cells are full-width sentences. Columns that are
//     only partly aligned, for example where headings or paragraph breaks
//     shift one of them, read as columns.
//   - A multi-line table cell whose lines do not overlap the neighbouring
//     cell interleaves with the next row.
//   - Axis-aligned boxes on a skewed page (nothing to measure the skew from)
//     stay in one row only while length·tan(angle) < 0.5·H.
package layout
