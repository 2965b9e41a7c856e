package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

func TestAutostartDisabled(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  bool
	}{
		{"", false}, {"0", false}, {"false", false}, {"No", false}, {"off", false},
		{"1", true}, {"true", true}, {"yes", true}, {" 1 ", true},
	} {
		if got := autostartDisabled(tt.value); got != tt.want {
			t.Errorf("autostartDisabled(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestDaemonEnvDropsPassphraseAndManagerVariables(t *testing.T) {
	in := []string{
		"PATH=/bin", "AIRTRAIN_CRED_PASSPHRASE=x", "NOTIFY_SOCKET=/run/n",
		"LISTEN_FDS=1", "LISTEN_PID=9", "LISTEN_FDNAMES=a", "AIRTRAIN_CRED_NO_AUTOSTART=1",
		"WATCHDOG_USEC=1", "WATCHDOG_PID=9", "XDG_STATE_HOME=/s", "AIRTRAIN_CRED_SOCK=/x",
	}
	want := []string{"PATH=/bin", "XDG_STATE_HOME=/s", "AIRTRAIN_CRED_SOCK=/x"}
	if got := daemonEnv(in); !slices.Equal(got, want) {
		t.Errorf("daemonEnv = %q, want %q", got, want)
	}
}

// TestCommandsThatNeverStartTheAgent checks that each name in noAutostart
// that is a registered command exists, so a rename cannot silently make it
// start the agent.
func TestCommandsThatNeverStartTheAgent(t *testing.T) {
	for _, name := range []string{"version", "install", "uninstall", "start"} {
		if lookup(name) == nil {
			t.Errorf("command %q is not registered", name)
		}
		if !noAutostart[name] {
			t.Errorf("command %q would start the agent", name)
		}
	}
	for _, name := range []string{"status", "get", "list", "exec", "unlock"} {
		if noAutostart[name] {
			t.Errorf("command %q would not start the agent", name)
		}
	}
}

func TestStartLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credd.sock.lock")
	unlock, err := lockStart(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lockStart(ctx, path); err == nil {
		t.Fatal("a second lockStart succeeded while the first held the lock")
	}
	unlock()
	unlock2, err := lockStart(context.Background(), path)
	if err != nil {
		t.Fatalf("lockStart after unlock: %v", err)
	}
	unlock2()
}

func TestProbeAbsent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none", "credd.sock")
	if got := probe(sock); got != probeAbsent {
		t.Errorf("probe(missing) = %v, want probeAbsent", got)
	}
	if m := findManager(sock); m != nil {
		t.Errorf("findManager(%s) = %s, want none for a path no service uses", sock, m.name)
	}
}
