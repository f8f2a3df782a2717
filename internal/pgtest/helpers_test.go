package pgtest

import (
	"fmt"
	"syscall"
)

func processGone(pid int) error {
	if err := syscall.Kill(pid, 0); err == nil {
		return fmt.Errorf("postmaster %d still runs after Stop", pid)
	}
	return nil
}
