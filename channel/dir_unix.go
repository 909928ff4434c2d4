//go:build unix

package channel

import (
	"fmt"
	"os"
	"syscall"
)

// checkPrivateDir makes sure dir is a directory that only this user can enter: the socket inside
// is then out of reach of other users whatever its own mode.
func checkPrivateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("directory %s is open to other users (mode %04o); the channel needs a private (0700) directory", dir, perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("directory %s belongs to uid %d, not to this user (%d)", dir, st.Uid, os.Geteuid())
	}
	return nil
}
