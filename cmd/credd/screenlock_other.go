//go:build !linux

package main

import (
	"github.com/rs/zerolog"

	"github.com/airtrain-ai/credd/daemon"
)

// watchScreenLock is not implemented on this OS: macOS screen-lock
// notifications need cgo. It says so once.
func watchScreenLock(srv *daemon.Server, log zerolog.Logger) {
	log.Warn().Msg("lock_on_screen_lock is not supported on this OS")
}
