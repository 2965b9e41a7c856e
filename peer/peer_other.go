//go:build !linux && !darwin

package peer

import "net"

// FromConn returns ErrNotImplemented: this OS gives no peer credentials that
// the package knows how to read, and the daemon refuses such peers.
func FromConn(c *net.UnixConn) (*Identity, error) { return nil, ErrNotImplemented }

// Refresh returns ErrNotImplemented.
func Refresh(id *Identity) error { return ErrNotImplemented }
