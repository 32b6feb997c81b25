package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ocrhost/ocrhost/format"
	"github.com/ocrhost/ocrhost/function"
	"github.com/ocrhost/ocrhost/host"
)

// formatFlagUsage lists the formats for --format.
func formatFlagUsage() string {
	names := make([]string, len(format.All))
	for i, f := range format.All {
		names[i] = string(f)
	}
	return "output format: " + strings.Join(names, ", ") + " (default: the text; json with --json)"
}

// requestOptions is the --options JSON with --format merged in, checked
// the way the host checks a request's.
func requestOptions(options, formatName string) (json.RawMessage, error) {
	raw := json.RawMessage(options)
	if formatName != "" {
		if _, err := format.Parse(formatName); err != nil {
			return nil, fmt.Errorf("--format %q: %w", formatName, err)
		}
		members := map[string]json.RawMessage{}
		if strings.TrimSpace(options) != "" {
			if err := json.Unmarshal(raw, &members); err != nil {
				return nil, fmt.Errorf("--options: %w", err)
			}
		}
		members["format"], _ = json.Marshal(formatName)
		var err error
		if raw, err = json.Marshal(members); err != nil {
			return nil, err
		}
	}
	_, rest, err := host.SplitFormat(raw)
	if err != nil {
		return nil, err
	}
	if _, err := function.ParseOptions(rest, function.DefaultOptions()); err != nil {
		return nil, err
	}
	return raw, nil
}

// writeOutput writes a result in a format other than JSON: into dir as
// the input's name with the format's extension, or to stdout.
func writeOutput(path string, resp *host.Response, formatName, dir string) error {
	if dir == "" {
		_, err := os.Stdout.Write(resp.Output)
		return err
	}
	f, _ := format.Parse(formatName)
	name := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+f.Ext())
	if err := os.WriteFile(name, resp.Output, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %s written (%d bytes)\n", path, name, len(resp.Output))
	return nil
}
