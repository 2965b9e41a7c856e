//go:build linux

package bench

import "syscall"

// childAttr puts a child in its own process group and has the kernel kill
// it if credbench dies first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
