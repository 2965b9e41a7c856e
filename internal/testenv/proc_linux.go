package testenv

import (
	"syscall"
	"testing"
)

// childAttr puts a child in its own process group, so that stop kills
// whatever it started, and kills it if the test binary dies first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func skipUnlessLinux(t testing.TB) {}
