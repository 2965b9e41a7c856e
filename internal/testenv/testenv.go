// Package testenv provides real components for credd's tests: a private
// D-Bus session bus, a real gnome-keyring Secret Service on it, and the
// rule for tests that need something a machine may lack: skip on a
// developer's machine, fail under CI=true, where everything is installed.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (the environment variable CI
// is "true"), where every dependency must be present.
func InCI() bool {
	return os.Getenv("CI") == "true"
}

// RequireCI stops the test because what is missing: it fails the test when
// CI=true and skips it otherwise. what names the missing piece in plain
// words, such as "gnome-keyring-daemon (apt install gnome-keyring)".
func RequireCI(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required under CI=true but missing", what)
	}
	t.Skipf("skipping: %s is missing (under CI=true this test fails instead)", what)
}

// LookPath returns the path of the program name, or stops the test with
// [RequireCI] when it is not installed. pkg names the Debian package that
// provides it, for the message.
func LookPath(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		RequireCI(t, name+" (Debian package "+pkg+")")
	}
	return p
}
