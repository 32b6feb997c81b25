//go:build !linux

package memory

const thpModeFile = ""

func disableTHP(string) (bool, error) { return false, nil }
