package e2e

import (
	"context"
	"os/exec"
	"time"
)

// execCommand is exec.Command bounded to one minute, so a hung process
// cannot hang the suite.
func execCommand(name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { cancel(); return cmd.Process.Kill() }
	return cmd
}
