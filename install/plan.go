package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Action is what one Step does.
type Action int

// The actions a plan is made of.
const (
	// MakeDir creates a folder (and missing parents) with Mode, leaving an
	// existing one and its contents as they are.
	MakeDir Action = iota
	// WriteFile writes Content to Path with Mode, unless it is already so.
	WriteFile
	// RemoveFile removes Path; a missing file is not an error.
	RemoveFile
	// RunCommand runs Args, failing the plan unless IgnoreError is set.
	RunCommand
)

// Step is one thing a Plan does.
type Step struct {
	Action  Action
	Path    string      // MakeDir, WriteFile, RemoveFile
	Mode    fs.FileMode // MakeDir, WriteFile
	Content []byte      // WriteFile
	Args    []string    // RunCommand: program and arguments
	// IgnoreError makes a failing command a note instead of an error, for
	// commands that fail when there is nothing to undo.
	IgnoreError bool
}

// Plan is an ordered list of steps that installs or uninstalls credd.
type Plan struct {
	// OS is the operating system the plan was made for.
	OS string
	// Binary is the credd executable an install plan points the service
	// at; empty in an uninstall plan. Apply checks it is executable first.
	Binary string
	// Steps run in order.
	Steps []Step
}

func (p *Plan) mkdir(path string) {
	p.Steps = append(p.Steps, Step{Action: MakeDir, Path: path, Mode: dirMode})
}

func (p *Plan) write(path, content string) {
	p.Steps = append(p.Steps, Step{Action: WriteFile, Path: path, Mode: fileMode,
		Content: []byte(content)})
}

func (p *Plan) remove(path string) {
	p.Steps = append(p.Steps, Step{Action: RemoveFile, Path: path})
}

func (p *Plan) run(ignoreError bool, args ...string) {
	p.Steps = append(p.Steps, Step{Action: RunCommand, Args: args, IgnoreError: ignoreError})
}

// Runner runs a program with arguments and returns its combined output.
type Runner func(name string, args ...string) ([]byte, error)

// runTimeout bounds each command ExecRunner runs.
const runTimeout = 2 * time.Minute

// ExecRunner is the Runner that runs real commands, each bounded in time.
func ExecRunner(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// Print writes what the plan would do, file contents included, without
// doing any of it: the dry run.
func (p *Plan) Print(w io.Writer) error {
	var b bytes.Buffer
	for _, s := range p.Steps {
		switch s.Action {
		case MakeDir:
			fmt.Fprintf(&b, "create folder %s (mode %04o) unless it exists\n",
				s.Path, s.Mode.Perm())
		case WriteFile:
			fmt.Fprintf(&b, "write %s (mode %04o):\n", s.Path, s.Mode.Perm())
			for _, line := range strings.SplitAfter(string(s.Content), "\n") {
				if line != "" {
					b.WriteString("    | " + strings.TrimSuffix(line, "\n") + "\n")
				}
			}
		case RemoveFile:
			fmt.Fprintf(&b, "remove %s\n", s.Path)
		case RunCommand:
			fmt.Fprintf(&b, "run %s", shellJoin(s.Args))
			if s.IgnoreError {
				b.WriteString(" (a failure is ignored)")
			}
			b.WriteString("\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Apply carries out the plan's steps in order, writing one line per step to
// w, and stops at the first step that fails.
func (p *Plan) Apply(w io.Writer, run Runner) error {
	if p.Binary != "" && !isExecutable(p.Binary) {
		return fmt.Errorf("check credd binary: %s is not an executable file", p.Binary)
	}
	for _, s := range p.Steps {
		note, err := s.apply(run)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(w, note); err != nil {
			return fmt.Errorf("report progress: %w", err)
		}
	}
	return nil
}

func (s Step) apply(run Runner) (string, error) {
	switch s.Action {
	case MakeDir:
		return makeDir(s.Path, s.Mode)
	case WriteFile:
		return writeFile(s.Path, s.Content, s.Mode)
	case RemoveFile:
		err := os.Remove(s.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return note("absent", s.Path), nil
		}
		if err != nil {
			return "", fmt.Errorf("remove file: %w", err)
		}
		return note("removed", s.Path), nil
	case RunCommand:
		cmd := shellJoin(s.Args)
		out, err := run(s.Args[0], s.Args[1:]...)
		if err != nil && s.IgnoreError {
			return note("ran", cmd+" (failed, ignored: "+describe(err, out)+")"), nil
		}
		if err != nil {
			return "", fmt.Errorf("run %s: %s", cmd, describe(err, out))
		}
		return note("ran", cmd), nil
	}
	return "", fmt.Errorf("apply plan: unknown action %d", s.Action)
}

func makeDir(path string, mode fs.FileMode) (string, error) {
	fi, err := os.Stat(path)
	if err == nil && fi.IsDir() {
		return note("exists", path), nil
	}
	if err := os.MkdirAll(path, mode); err != nil {
		return "", fmt.Errorf("create folder: %w", err)
	}
	return note("created", path), nil
}

// writeFile replaces path with content through a temporary file in the same
// folder, so the service manager never reads a half-written unit.
func writeFile(path string, content []byte, mode fs.FileMode) (string, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == mode.Perm() {
			return note("unchanged", path), nil
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return "", fmt.Errorf("create folder: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return "", fmt.Errorf("write file: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(content)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write file: %w", err)
	}
	return note("wrote", path), nil
}

// note formats one line of Apply's report.
func note(verb, what string) string { return fmt.Sprintf("%-9s %s", verb, what) }

// describe is a command's error with the first line of its output, which
// service managers fill with the reason.
func describe(err error, out []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return err.Error()
	}
	return err.Error() + ": " + line
}

// shellJoin writes args as a shell would need them typed.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"+
			"0123456789-_./=:@%+,") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
