//go:build !linux

package bench

import "syscall"

// childAttr puts a child in its own process group. This OS has no parent
// death signal: a killed credbench can leave children behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
