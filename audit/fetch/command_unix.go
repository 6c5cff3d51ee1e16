//go:build unix

package fetch

import (
	"os/exec"
	"syscall"
)

// killGroup runs cmd in a process group of its own, killed whole when
// its context ends: sh -c's children would otherwise outlive it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
