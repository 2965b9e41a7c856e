package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// echoName and echoField shape the echo server's reply like a get reply
// for a generic credential.
const (
	echoName  = "bench"
	echoField = "value"
)

// echoBody returns the part of the echo server's reply that follows the
// id, padded so that a reply to a one-character id is size bytes long,
// newline included.
func echoBody(size int) []byte {
	head := `,"ok":true,"credential":{"name":"` + echoName + `","type":"generic","fields":{"` +
		echoField + `":"`
	tail := `"},"main":"` + echoField + `"}}` + "\n"
	fixed := len(`{"id":1`) + len(head) + len(tail)
	pad := max(size-fixed, 1)
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// ServeEcho listens on a new Unix socket at path and answers every request
// line with a reply of replySize bytes shaped like a get reply, until the
// process is killed. It is the floor credd is measured against: the least
// a daemon speaking newline-delimited JSON over a Unix socket can do.
func ServeEcho(path string, replySize int) error {
	ln, err := listenUnix(path)
	if err != nil {
		return err
	}
	return serveEcho(ln, replySize)
}

// listenUnix listens on a new Unix socket at path, closed to other users.
func listenUnix(path string) (*net.UnixListener, error) {
	if len(path) > 107 {
		return nil, fmt.Errorf("listen on %s: a Unix socket path is limited to 107 bytes", path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

// serveEcho accepts connections on ln until it is closed.
func serveEcho(ln net.Listener, replySize int) error {
	body := echoBody(replySize)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("echo: accept: %w", err)
		}
		go echoConn(nc, body)
	}
}

// echoConn answers one connection: it decodes each request line, as any
// JSON server must, and writes the reply with the request's id.
func echoConn(nc net.Conn, body []byte) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 64<<10)
	out := make([]byte, 0, len(body)+64)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		var req struct {
			ID   json.RawMessage `json:"id"`
			Op   string          `json:"op"`
			Name string          `json:"name"`
		}
		if err := json.Unmarshal(line, &req); err != nil || len(req.ID) == 0 {
			return
		}
		out = append(append(append(out[:0], `{"id":`...), req.ID...), body...)
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}
