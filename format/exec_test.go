package format_test

import "os/exec"

func execQuiet(name string, args ...string) error { return exec.Command(name, args...).Run() }
