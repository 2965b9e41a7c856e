//go:build !linux

package secretsvc

import "syscall"

// childAttr puts a child in its own process group, so that Kill ends
// whatever it started. This OS has no parent death signal: a parent that
// is killed can leave its children behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
