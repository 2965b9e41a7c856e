//go:build !linux

package testenv

import "testing"

// skipUnlessLinux skips the test: gnome-keyring is the Secret Service
// these tests drive, and it runs on Linux only, so CI=true does not turn
// this skip into a failure.
func skipUnlessLinux(t testing.TB) {
	t.Helper()
	t.Skip("skipping: the Secret Service tests run on Linux only")
}
