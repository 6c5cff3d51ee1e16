//go:build unix && !linux

package replay

import "syscall"

// endWithParent does nothing where there is no parent-death signal: a
// server outlives a cachefence that is killed before it stops it.
func endWithParent(*syscall.SysProcAttr) {}
