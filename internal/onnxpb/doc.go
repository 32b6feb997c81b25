// Package onnxpb holds the Go types of the ONNX protobuf schema.
//
// onnx.proto is ONNX 1.12.0's (Apache-2.0, © the ONNX Project Contributors),
// taken from Debian 12's libonnx-dev 1.12.0-2 (/usr/include/onnx/onnx.proto).
// onnx.pb.go is generated from it with protoc 3.21.12 (Debian's
// protobuf-compiler) and protoc-gen-go v1.36.12, the version of
// google.golang.org/protobuf in go.mod:
//
//	protoc --go_out=. --go_opt=paths=source_relative \
//	  --go_opt=Monnx.proto=github.com/ocrhost/ocrhost/internal/onnxpb onnx.proto
//
// Newer ONNX fields a model may carry survive a decode and encode as unknown
// fields.
package onnxpb
