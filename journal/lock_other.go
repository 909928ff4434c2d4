//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package journal

import "os"

// lockBlocksRename: no OS lock is held here.
const lockBlocksRename = false

// tryLockFile: this platform has no file lock mltrack uses; journals are then only kept apart
// within one process (see dirLock.warning).
func tryLockFile(*os.File) (bool, error) { return false, errLockUnsupported }

func unlockFile(*os.File) error { return nil }
