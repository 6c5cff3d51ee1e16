//go:build !unix

package replay

import "os/exec"

// ownGroup leaves cmd as it is: there are no process groups to use.
func ownGroup(*exec.Cmd) {}

// terminateGroup and killGroup kill the server itself.
func terminateGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
func killGroup(cmd *exec.Cmd)      { _ = cmd.Process.Kill() }
