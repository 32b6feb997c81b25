package imageio

import (
	"fmt"
	"mime"
)

// magics are the signatures Sniff knows; '?' matches any byte. BMP requires
// the reserved header words to be zero, as Go's image registry does, because
// "BM" alone matches too much text.
var magics = []struct{ format, magic string }{
	{"png", "\x89PNG\r\n\x1a\n"},
	{"jpeg", "\xff\xd8\xff"},
	{"gif", "GIF87a"},
	{"gif", "GIF89a"},
	{"tiff", "II*\x00"},
	{"tiff", "MM\x00*"},
	{"bmp", "BM????\x00\x00\x00\x00"},
	{"webp", "RIFF????WEBP"},
	{"npy", "\x93NUMPY"},
}

func matchMagic(data []byte, magic string) bool {
	for i := range data {
		if magic[i] != '?' && magic[i] != data[i] {
			return false
		}
	}
	return true
}

// Sniff names the format from the magic bytes: "png", "jpeg", "tiff", "bmp",
// "webp", "gif", "npy", or "" when none matches.
func Sniff(data []byte) string {
	for _, m := range magics {
		if len(data) >= len(m.magic) && matchMagic(data[:len(m.magic)], m.magic) {
			return m.format
		}
	}
	return ""
}

// isMagicPrefix reports whether data is a proper prefix of a signature, i.e.
// an upload cut off before its header was complete.
func isMagicPrefix(data []byte) bool {
	for _, m := range magics {
		if len(data) < len(m.magic) && matchMagic(data, m.magic) {
			return true
		}
	}
	return false
}

var contentTypes = map[string]string{
	"image/png":         "png",
	"image/x-png":       "png",
	"image/jpeg":        "jpeg",
	"image/jpg":         "jpeg",
	"image/pjpeg":       "jpeg",
	"image/tiff":        "tiff",
	"image/x-tiff":      "tiff",
	"image/bmp":         "bmp",
	"image/x-bmp":       "bmp",
	"image/x-ms-bmp":    "bmp",
	"image/webp":        "webp",
	"image/gif":         "gif",
	"application/x-npy": "npy",
}

// FormatFromContentType maps a MIME type (parameters allowed, case
// insensitive) to the format name Sniff would return.
func FormatFromContentType(ct string) (string, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", fmt.Errorf("%w: content type %q: %v", ErrUnsupported, ct, err)
	}
	if f, ok := contentTypes[mt]; ok {
		return f, nil
	}
	return "", fmt.Errorf("%w: content type %q", ErrUnsupported, mt)
}
