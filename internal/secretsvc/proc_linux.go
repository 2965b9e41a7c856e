package secretsvc

import "syscall"

// childAttr puts a child in its own process group, so that Kill ends
// whatever it started, and has the kernel kill it if its parent dies
// first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
