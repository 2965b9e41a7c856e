package bench

import (
	"os/exec"

	"github.com/airtrain-ai/credd/internal/secretsvc"
)

// keyringPassword protects the benchmark's throwaway login collection; it
// guards nothing.
const keyringPassword = "credbench-keyring"

// secretService is a private D-Bus session bus with a gnome-keyring
// Secret Service on it, its login collection created and unlocked.
type secretService struct {
	addr string
	svc  *secretsvc.Service
}

// haveSecretService reports whether the programs a private Secret Service
// needs are installed.
func haveSecretService() error {
	for _, p := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(p); err != nil {
			return &errSkip{p + " is not installed (Debian packages dbus and gnome-keyring)"}
		}
	}
	return nil
}

// startSecretService starts the bus and gnome-keyring-daemon with their
// files under dir, and waits until the login collection is unlocked.
func startSecretService(dir string) (*secretService, error) {
	if err := haveSecretService(); err != nil {
		return nil, err
	}
	svc, err := secretsvc.Start(dir, secretsvc.Options{Password: keyringPassword})
	if err != nil {
		return nil, err
	}
	return &secretService{addr: svc.Address(), svc: svc}, nil
}

// stop ends gnome-keyring and the bus.
func (ss *secretService) stop() {
	if ss != nil {
		ss.svc.Stop()
	}
}
