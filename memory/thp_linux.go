package memory

import (
	"os"
	"strings"
	"syscall"
)

const (
	thpModeFile     = "/sys/kernel/mm/transparent_hugepage/enabled"
	prSetTHPDisable = 41 // PR_SET_THP_DISABLE, linux/prctl.h
)

// disableTHP turns transparent huge pages off for this process when the
// mode file says the kernel gives them to every mapping ("[always]").
func disableTHP(modeFile string) (bool, error) {
	mode, err := os.ReadFile(modeFile)
	if err != nil || !strings.Contains(string(mode), "[always]") {
		return false, nil
	}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetTHPDisable, 1, 0, 0, 0, 0); errno != 0 {
		return false, errno
	}
	return true, nil
}
