// Package e2e tests credd end to end: the real credd and credctl binaries,
// real Unix sockets, real processes and, where the test needs one, a real
// gnome-keyring Secret Service and a real second user.
package e2e

import (
	"testing"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

func TestMain(m *testing.M) { daemontest.Main(m) }
