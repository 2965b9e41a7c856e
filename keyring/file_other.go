//go:build !unix

package keyring

import "os"

// openNoFollow is not available here; checkOwner and the mode check are
// what this platform gets.
const openNoFollow = 0

func isSymlinkErr(err error) bool { return false }

// checkOwner accepts every file: this platform has no Unix owner to check.
func checkOwner(fi os.FileInfo) error { return nil }
