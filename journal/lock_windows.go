//go:build windows

package journal

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockBlocksRename: Windows refuses to rename a directory holding an open file, so Remove releases
// the lock before renaming the journal away.
const lockBlocksRename = true

// The locked byte lies far beyond the end of the file: LockFileEx locks are mandatory, and a lock
// on the pid written at the start would keep others from reading who holds the journal.
const lockOffsetHigh = 0x40000000

// tryLockFile takes an exclusive LockFileEx lock without waiting. Windows releases it when the
// handle closes, including when the process dies.
func tryLockFile(f *os.File) (bool, error) {
	ol := &windows.Overlapped{OffsetHigh: lockOffsetHigh}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	case errors.Is(err, windows.ERROR_NOT_SUPPORTED) || errors.Is(err, windows.ERROR_INVALID_FUNCTION):
		return false, errLockUnsupported
	}
	return false, err
}

func unlockFile(f *os.File) error {
	ol := &windows.Overlapped{OffsetHigh: lockOffsetHigh}
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}
