package function

import (
	"reflect"
	"testing"
	"time"
)

// Add sums every stage: a field added to Timings and left out of Add fails
// here, as every field of the sum must be twice the page's.
func TestTimingsAdd(t *testing.T) {
	var page Timings
	v := reflect.ValueOf(&page).Elem()
	for i := range v.NumField() {
		v.Field(i).SetInt(int64(time.Duration(i+1) * time.Millisecond))
	}
	var sum Timings
	sum.Add(page)
	sum.Add(page)
	s := reflect.ValueOf(sum)
	for i := range s.NumField() {
		if got, want := s.Field(i).Int(), 2*v.Field(i).Int(); got != want {
			t.Errorf("%s: %v, want %v", s.Type().Field(i).Name, time.Duration(got), time.Duration(want))
		}
	}
}
