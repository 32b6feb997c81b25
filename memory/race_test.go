//go:build race

package memory

// raceEnabled is true in a -race build, whose shadow memory and allocator
// change what RSS figures mean.
const raceEnabled = true
