// Command ocrhost is the OCR function host. One runner per mode:
//
//	ocrhost [serve]                      the host (configuration from OCRHOST_* environment)
//	ocrhost ocr [--json] FILE...         OCR files in-process, no NATS
//	ocrhost invoke [--nats URL] FILE...  OCR files through a running host (NATS request-reply)
//	ocrhost load [flags] FILE...         load-test a running host and report (ocrhost load -h)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	// SIGINT/SIGTERM cancel ctx; a second signal kills the process the
	// default way, as knative.dev/pkg/signals does.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args)
	case "ocr":
		err = ocr(ctx, args)
	case "invoke":
		err = invoke(ctx, args)
	case "load":
		err = load(ctx, args)
	case "help", "-h", "--help":
		fmt.Println("usage: ocrhost [serve | ocr [--json] FILE... | invoke [--nats URL] [--json] FILE... | load [flags] FILE...]")
		return
	default:
		err = fmt.Errorf("unknown command %q (want serve, ocr, invoke or load)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ocrhost:", err)
		os.Exit(1)
	}
}
