package secretsvc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Child is a process started by [StartChild]: in its own process group,
// with its output in a log file, and on Linux killed by the kernel if the
// program that started it dies first.
type Child struct {
	// Cmd is the started command; its Process is set.
	Cmd *exec.Cmd
	// Log is the path of the file that holds the child's output.
	Log string

	done chan struct{}
}

// StartChild starts cmd with its standard error, and its standard output
// unless the caller set one (a pipe, say), in a new file at logPath. A
// goroutine reaps the child and closes the log when it exits.
func StartChild(cmd *exec.Cmd, logPath string) (*Child, error) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create log file: %w", err)
	}
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	cmd.Stderr = f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	c := &Child{Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

// Done returns a channel that is closed once the child has exited and
// been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Exited reports whether the child has exited.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Kill kills the child and its whole process group with SIGKILL, and
// waits until the child is reaped.
func (c *Child) Kill() {
	_ = syscall.Kill(-c.Cmd.Process.Pid, syscall.SIGKILL)
	_ = c.Cmd.Process.Kill()
	<-c.done
}
