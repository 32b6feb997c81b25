package events

import (
	"context"

	"github.com/ocrhost/ocrhost/events/internal/wire"
	"github.com/ocrhost/ocrhost/host"
)

// Event types of the contract.
const (
	// TypeRequest is the type clients should give requests; any type other
	// than TypeResult, TypeFailure and TypeProgress is accepted as a request.
	TypeRequest = wire.TypeRequest
	// TypeResult is the type of an answer whose data is a host.Response
	// (or the output in the format asked for, named by datacontenttype).
	TypeResult = wire.TypeResult
	// TypeFailure is the type of an answer whose data is a FailureData.
	TypeFailure = wire.TypeFailure
	// TypeProgress is the type of progress events: in publish and JetStream
	// modes a multi-page document reports after each batch of pages, on the
	// result subject, correlated by requestid like the result.
	TypeProgress = wire.TypeProgress
)

// ExtRequestID is the extension attribute of answers that holds the
// request's id.
const ExtRequestID = wire.ExtRequestID

// ClientSource is the source attribute of the events a Client sends.
const ClientSource = wire.ClientSource

// FailureData is the data of a TypeFailure event.
type FailureData = wire.FailureData

// ProgressData is the data of a TypeProgress event.
type ProgressData = wire.ProgressData

var (
	// ErrNotCloudEvent: the message is neither a binary-mode nor a
	// structured-mode CloudEvent.
	ErrNotCloudEvent = wire.ErrNotCloudEvent
	// ErrInvalidEvent: a CloudEvent with missing or wrong attributes.
	ErrInvalidEvent = wire.ErrInvalidEvent
	// ErrInvalidData: a request event whose data is no document.
	ErrInvalidData = wire.ErrInvalidData
	// ErrClosing: the transport is draining and takes no new work.
	ErrClosing = wire.ErrClosing
	// ErrInvalidOption: an option is out of range.
	ErrInvalidOption = wire.ErrInvalidOption
	// ErrUnexpectedReply: a reply is not one of our answers to the request.
	ErrUnexpectedReply = wire.ErrUnexpectedReply
	// ErrDrainIncomplete: Close's deadline passed with invocations running;
	// they were cancelled and answered before Close returned.
	ErrDrainIncomplete = wire.ErrDrainIncomplete
)

// Invoker runs one decoded request; the host implements it.
type Invoker interface {
	Invoke(ctx context.Context, req *host.Request) (*host.Response, error)
}
