//go:build linux

package main

import (
	"github.com/godbus/dbus/v5"
	"github.com/rs/zerolog"

	"github.com/airtrain-ai/credd/daemon"
)

// watchScreenLock locks when logind tells a session to lock its screen
// (the Lock signal of org.freedesktop.login1.Session on the system bus).
// Without a system bus or logind it logs once and gives up.
func watchScreenLock(srv *daemon.Server, log zerolog.Logger) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		log.Warn().Err(err).Msg("lock_on_screen_lock: no system bus; screen locks will not lock credd")
		return
	}
	defer conn.Close()
	err = conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.login1.Session"), dbus.WithMatchMember("Lock"))
	if err != nil {
		log.Warn().Err(err).Msg("lock_on_screen_lock: cannot subscribe to logind")
		return
	}
	ch := make(chan *dbus.Signal, 4)
	conn.Signal(ch)
	log.Info().Msg("locking when the screen locks")
	for sig := range ch {
		if sig.Name == "org.freedesktop.login1.Session.Lock" {
			srv.Lock("screen locked")
		}
	}
}
