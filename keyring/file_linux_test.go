package keyring

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airtrain-ai/credd/internal/testenv"
)

// TestFileAgeCLI decrypts the file with the age command, which reads the
// passphrase from its terminal only: the test gives it a pseudo-terminal.
// By hand: age -d -o - ~/.local/share/airtrain/credentials.age
func TestFileAgeCLI(t *testing.T) {
	bin := testenv.LookPath(t, "age", "age")
	const value = "sk-age-cli-\"quoted\"\nsecond line"
	path := storeOne(t, value)

	ptmx, tty := openPTY(t)
	out := filepath.Join(t.TempDir(), "plain.json")
	cmd := exec.Command(bin, "-d", "-o", out, path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start age: %v", err)
	}
	tty.Close()

	// Read the prompt, answer it, and drain the terminal until age exits.
	var screen bytes.Buffer
	prompted := make(chan struct{})
	go func() {
		buf := make([]byte, 256)
		once := false
		for {
			n, err := ptmx.Read(buf)
			screen.Write(buf[:n])
			if !once && strings.Contains(screen.String(), "passphrase") {
				once = true
				close(prompted)
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-prompted:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("age did not prompt for a passphrase")
	}
	if _, err := io.WriteString(ptmx, testPass+"\r"); err != nil {
		t.Fatalf("answer age's prompt: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("age -d failed: %v", err)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("age -d did not finish")
	}

	var doc struct {
		Version     int
		Credentials []struct {
			Name   string
			Fields map[string]string
		}
	}
	if err := json.Unmarshal(readAll(t, out), &doc); err != nil {
		t.Fatalf("decode age's output: %v", err)
	}
	if doc.Version != 1 || len(doc.Credentials) != 1 || doc.Credentials[0].Name != "one" ||
		doc.Credentials[0].Fields["k"] != value {
		t.Fatalf("age's output does not hold the stored credential")
	}
}

func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		testenv.RequireCI(t, "a pseudo-terminal (/dev/ptmx)")
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}
