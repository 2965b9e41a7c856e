package secretsvc_test

import (
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/airtrain-ai/credd/internal/secretsvc"
	"github.com/airtrain-ai/credd/internal/testenv"
)

func TestStartStop(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipping: gnome-keyring runs on Linux only")
	}
	testenv.LookPath(t, "dbus-daemon", "dbus")
	testenv.LookPath(t, "gnome-keyring-daemon", "gnome-keyring")
	dir, err := os.MkdirTemp("", "credd-svc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	svc, err := secretsvc.Start(dir, secretsvc.Options{Password: "secretsvc-test"})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			svc.Stop()
		}
	})

	conn, err := dbus.Connect(svc.Address())
	if err != nil {
		t.Fatalf("connect to the bus: %v", err)
	}
	var owned bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, secretsvc.Name).
		Store(&owned)
	conn.Close()
	if err != nil || !owned {
		t.Fatalf("NameHasOwner(%s) = %v, %v; want true", secretsvc.Name, owned, err)
	}

	pid := svc.PID()
	svc.Stop()
	stopped = true
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("gnome-keyring-daemon (pid %d) still runs after Stop", pid)
	}
	if conn, err := dbus.Connect(svc.Address()); err == nil {
		conn.Close()
		t.Errorf("the bus still answers after Stop")
	}
}
