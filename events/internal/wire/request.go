package wire

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// ClientSource is the source attribute of the events clients send.
const ClientSource = "/ocrhost/client"

// NewRequest builds a request event as Request sends it.
func NewRequest(id string, doc []byte, contentType string, options json.RawMessage) (event.Event, error) {
	e := event.New()
	e.SetID(id)
	e.SetSource(ClientSource)
	e.SetType(TypeRequest)
	e.SetTime(time.Now())
	if len(options) == 0 {
		if contentType == "" {
			contentType = MediaBinary
		}
		e.SetDataContentType(contentType)
		e.DataEncoded = doc
		return e, nil
	}
	data, err := json.Marshal(Envelope{Data: doc, ContentType: contentType, Options: options})
	if err != nil {
		return e, fmt.Errorf("%w: options: %w", ErrInvalidData, err)
	}
	e.SetDataContentType(MediaJSON)
	e.DataEncoded = data
	return e, nil
}
