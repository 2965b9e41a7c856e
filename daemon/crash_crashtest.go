//go:build credd_crashtest

package daemon

import (
	"github.com/airtrain-ai/credd/protocol"
)

// In a credd_crashtest build, two ops panic while holding a copy of a
// credential's values:
//
//   - panic_in_request panics in the connection's goroutine, where the
//     daemon recovers, logs and keeps serving;
//   - crash panics in a goroutine of its own, which kills the process the
//     way an unexpected bug would, with Go's panic report on stderr.
//
// Both panic with the credential itself as the panic value, as a careless
// bug might.
func init() {
	crashHooks["panic_in_request"] = func(s *Server, c *conn, req *protocol.Request) *protocol.Response {
		cred, e := s.lookup(req.Name, "")
		if e != nil {
			return fail(e)
		}
		panic(cred.Fields["value"].S)
	}
	crashHooks["crash"] = func(s *Server, c *conn, req *protocol.Request) *protocol.Response {
		cred, e := s.lookup(req.Name, "")
		if e != nil {
			return fail(e)
		}
		go func() { panic(cred.Fields["value"].S) }()
		select {}
	}
}
