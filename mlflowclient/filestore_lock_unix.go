//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris

package mlflowclient

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// fsTryLock takes an exclusive flock(2) lock without waiting. The kernel drops it when the holder
// exits or crashes, so a lock can never be left behind.
func fsTryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return false, nil
	}
	if errors.Is(err, unix.ENOLCK) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) {
		return false, fsErrLockUnsupported
	}
	return false, err
}

func fsUnlock(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}
