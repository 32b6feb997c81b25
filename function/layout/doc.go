// Package layout reads a page's detected lines as a person reads them.
//
// [Analyze] finds column gutters as maximal whitespace rectangles (Breuel,
// "Two Geometric Algorithms for Layout Analysis", 2002), pictures from an
// [Ink] map, joins lines into regions, tells tables from text columns by
// their content (full lines, words per line, hyphenated ends) rather than by
// alignment alone, types the blocks (title, heading, paragraph, list,
// caption, header, footer, page number, table, figure) and orders them by
// Breuel's partial order ("High Performance Document Layout Analysis",
// 2003). Floats (a caption set between columns) read after the columns they
// sit between; headers first, footers and page numbers last.
//
// Every distance is a multiple of H, the median line height, so the rules
// hold at any resolution; the constants beside each step name them and say
// why. docs/layout.md in the repository walks through the steps with the
// figures they reach on real pages.
//
// [RapidOCRSort] reproduces RapidOCR v1.4.4's box sort exactly
// (main.py:220-244), so results can be compared with the reference pipeline.
package layout
