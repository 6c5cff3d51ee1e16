package replay

import "syscall"

// endWithParent has Linux terminate the server when cachefence dies
// without stopping it (killed, or its output's pipe closed): a
// throw-away server never outlives its run.
func endWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }
