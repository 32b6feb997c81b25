package build

import "testing"

func BenchmarkNever(b *testing.B) { _ = undefinedThing }
