package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/airtrain-ai/credd/peer"
)

// Entry is a record as read back from the log.
type Entry struct {
	Time       string          `json:"time"`
	Event      string          `json:"event"`
	Credential string          `json:"credential"`
	Field      string          `json:"field"`
	Outcome    string          `json:"outcome"`
	Peer       *peer.Identity  `json:"peer"`
	Labels     *Labels         `json:"self_reported"`
	RequestID  json.RawMessage `json:"request_id"`
	Rule       *int            `json:"rule"`
	RuleName   string          `json:"rule_name"`
	Detail     string          `json:"detail"`
}

// Log is the content of an audit log file.
type Log struct {
	Entries []Entry
	// TornTail is set when the last line was cut short (by a crash
	// mid-write): it is reported, not fatal.
	TornTail bool
}

// ReadFile reads the audit log at path. A malformed line other than the last
// is an error naming its line number; a torn last line sets TornTail.
func ReadFile(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Read reads an audit log from r, as ReadFile does.
func Read(r io.Reader) (*Log, error) {
	var lg Log
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var pendingErr error
	n := 0
	for sc.Scan() {
		n++
		if pendingErr != nil {
			return nil, pendingErr
		}
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			pendingErr = fmt.Errorf("audit log line %d: %v", n, err)
			continue
		}
		lg.Entries = append(lg.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if pendingErr != nil {
		lg.TornTail = true
	}
	return &lg, nil
}
