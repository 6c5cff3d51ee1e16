//go:build unix

package replay

import (
	"os/exec"
	"syscall"
)

// ownGroup runs cmd in a process group of its own, so that its children
// (Varnish's cache process, nginx's workers) are ended with it, and no
// terminal's signal reaches them before cachefence has stopped them.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	endWithParent(cmd.SysProcAttr)
}

// terminateGroup asks the group to end; killGroup makes it.
func terminateGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
func killGroup(cmd *exec.Cmd)      { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
