package testenv

import "testing"

func skipUnlessLinux(t testing.TB) {}
