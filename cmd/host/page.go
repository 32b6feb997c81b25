package main

import (
	_ "embed"
	"net/http"
)

// page is the one page `GET /` serves: choose or drop a file, see its text,
// its boxes drawn over the image and the stage timings, and download each
// output format. No build step and no external assets; it talks to the
// host's own HTTP CloudEvents endpoint.
//
//go:embed page.html
var page []byte

func servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob:")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(page)
}
