package bench

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh/agent"

	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/secret"
)

// sockets measures credd's get, the echo floors and ssh-agent at every
// concurrency, one concurrency at a time so that the rows compared share
// the machine's state.
func (r *run) sockets() error {
	d, err := r.benchCredd()
	if err != nil {
		return err
	}
	defer d.stop()
	defer func() { r.progress("credd used %s after the socket rows", rssText(d.child)) }()

	size, err := replySize(d.socket)
	if err != nil {
		return err
	}
	r.res.ReplyBytes = size

	echoSock := filepath.Join(r.root, "echo.sock")
	cmd := exec.Command(r.cfg.Self, "--serve-echo", echoSock, "--reply-size", strconv.Itoa(size))
	echo, err := startChild(cmd, filepath.Join(r.root, "echo.log"))
	if err != nil {
		return err
	}
	defer echo.stop()
	if err := echo.waitSocket(echoSock); err != nil {
		return err
	}

	inSock := filepath.Join(r.root, "echo-in.sock")
	ln, err := listenUnix(inSock)
	if err != nil {
		return err
	}
	defer ln.Close()
	go serveEcho(ln, size)

	agentSock, stopAgent, err := r.sshAgent()
	if why, ok := skipped(err); ok {
		r.skip(SecSSHAgent, why)
	} else if err != nil {
		return err
	} else {
		defer stopAgent()
	}

	for _, n := range r.cfg.Clients {
		lim := r.cfg.Socket
		rows := []struct {
			section, what, sock string
		}{
			{SecCredd, "credd get, audit on", d.socket},
			{SecEcho, "echo floor, own process", echoSock},
			{SecEchoInproc, "echo floor, in process", inSock},
		}
		for _, x := range rows {
			row, err := measure(x.section, x.what, n, lim, r.getOpener(x.sock))
			if err != nil {
				return err
			}
			r.add(row)
		}
		if agentSock != "" {
			row, err := measure(SecSSHAgent, "ssh-agent list, one key", n, lim, agentOpener(agentSock))
			if err != nil {
				return err
			}
			r.add(row)
		}
	}
	return r.processes(d)
}

// benchCredd starts credd on the file backend, unlocks it with a random
// passphrase and stores the benchmark's credential.
func (r *run) benchCredd() (*creddProc, error) {
	d, err := startCredd(r.cfg.Credd, filepath.Join(r.root, "credd"), "file", nil)
	if err != nil {
		return nil, err
	}
	c := d.client()
	defer c.Close()
	ctx, cancel := callCtx()
	defer cancel()
	pass := secret.FromString(randomText(32))
	defer pass.Wipe()
	if _, err := c.Unlock(ctx, pass, 0); err != nil {
		d.stop()
		return nil, fmt.Errorf("unlock credd: %w", err)
	}
	if err := setGeneric(c, benchName); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// replySize returns the length of credd's reply line to a get of the
// benchmark credential with id 1, newline included.
func replySize(sock string) (int, error) {
	nc, err := net.Dial("unix", sock)
	if err != nil {
		return 0, fmt.Errorf("measure the get reply: %w", err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	req := `{"id":1,"op":"get","name":"` + benchName + `","agent":"credbench"}` + "\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		return 0, fmt.Errorf("measure the get reply: %w", err)
	}
	line, err := bufio.NewReader(nc).ReadSlice('\n')
	defer secret.Wipe(line)
	if err != nil {
		return 0, fmt.Errorf("measure the get reply: %w", err)
	}
	return len(line), nil
}

// getOpener opens a credd client with one connection on sock; its
// operation reads the benchmark credential and checks the value's size.
func (r *run) getOpener(sock string) opener {
	return func() (func() error, func(), error) {
		c := client.New(client.Options{Socket: sock, MaxIdle: 1, Agent: "credbench"})
		op := func() error {
			cred, err := c.Get(r.ctx, benchName)
			if err != nil {
				return err
			}
			defer cred.Wipe()
			if v := cred.Fields["value"]; v.Len() == 0 {
				return fmt.Errorf("get %s: empty value", benchName)
			}
			return nil
		}
		return op, func() { c.Close() }, nil
	}
}

// sshAgent starts OpenSSH's ssh-agent on a socket under the run's folder
// and adds one ed25519 key made here. It returns the socket and a stop
// function.
func (r *run) sshAgent() (string, func(), error) {
	bin, err := exec.LookPath("ssh-agent")
	if err != nil {
		return "", nil, &errSkip{"ssh-agent is not installed (Debian package openssh-client)"}
	}
	sock := filepath.Join(r.root, "agent.sock")
	ch, err := startChild(exec.Command(bin, "-D", "-a", sock), filepath.Join(r.root, "ssh-agent.log"))
	if err != nil {
		return "", nil, err
	}
	if err := ch.waitSocket(sock); err != nil {
		ch.stop()
		return "", nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		ch.stop()
		return "", nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	nc, err := net.Dial("unix", sock)
	if err != nil {
		ch.stop()
		return "", nil, fmt.Errorf("connect to ssh-agent: %w", err)
	}
	defer nc.Close()
	if err := agent.NewClient(nc).Add(agent.AddedKey{PrivateKey: priv, Comment: "credbench"}); err != nil {
		ch.stop()
		return "", nil, fmt.Errorf("add a key to ssh-agent: %w", err)
	}
	return sock, ch.stop, nil
}

// agentOpener opens an ssh-agent client with one connection; its
// operation lists the agent's keys and checks there is one.
func agentOpener(sock string) opener {
	return func() (func() error, func(), error) {
		nc, err := net.Dial("unix", sock)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to ssh-agent: %w", err)
		}
		ac := agent.NewClient(nc)
		op := func() error {
			keys, err := ac.List()
			if err != nil {
				return fmt.Errorf("ssh-agent list: %w", err)
			}
			if len(keys) != 1 {
				return fmt.Errorf("ssh-agent list: %d keys, want 1", len(keys))
			}
			return nil
		}
		return op, func() { nc.Close() }, nil
	}
}

// rssText describes a child's resident memory for progress lines.
func rssText(c *child) string {
	kib, err := c.rssKiB()
	if err != nil {
		return "unknown memory: " + err.Error()
	}
	return fmt.Sprintf("%d KiB resident", kib)
}
