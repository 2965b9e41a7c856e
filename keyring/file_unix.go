//go:build unix

package keyring

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openNoFollow makes opening a symbolic link fail.
const openNoFollow = syscall.O_NOFOLLOW

func isSymlinkErr(err error) bool {
	return errors.Is(err, syscall.ELOOP)
}

// checkOwner returns an error when fi is not owned by the effective user.
func checkOwner(fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("cannot read its owner")
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("it is owned by uid %d, not by you (uid %d)", st.Uid, uid)
	}
	return nil
}
