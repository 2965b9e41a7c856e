package client_test

import (
	"testing"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

// TestMain removes the credd and credctl binaries the tests build.
func TestMain(m *testing.M) { daemontest.Main(m) }
