//go:build unix

package paymentstest

import (
	"os/exec"
	"syscall"
)

// newProcessGroup starts cmd in a process group of its own, so killGroup
// reaches anything it spawns.
func newProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills cmd's process group.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
