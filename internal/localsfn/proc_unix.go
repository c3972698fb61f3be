//go:build unix

package localsfn

import (
	"errors"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the sidecar in its own process group, so Close can
// signal it and anything it might spawn in one call, and a Ctrl-C in the
// terminal reaches the Go process (which then closes it) rather than racing.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func terminate(cmd *exec.Cmd) error { return signalGroup(cmd, syscall.SIGTERM) }

func kill(cmd *exec.Cmd) error { return signalGroup(cmd, syscall.SIGKILL) }

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	err := syscall.Kill(-cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil // already gone
	}
	return err
}
