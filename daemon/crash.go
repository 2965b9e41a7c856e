package daemon

import "github.com/airtrain-ai/credd/protocol"

// crashHooks are extra ops that make the daemon panic on purpose, so that
// tests can check what a panic prints. Ordinary builds have none; a build
// with the tag credd_crashtest adds them (crash_crashtest.go).
var crashHooks = map[string]func(s *Server, c *conn, req *protocol.Request) *protocol.Response{}
