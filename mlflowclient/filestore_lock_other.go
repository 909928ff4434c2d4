//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris || windows)

package mlflowclient

import "os"

// On platforms without flock or LockFileEx, experiment creation runs without the lock and relies
// on the re-scan after creation (see createExperimentLocked).
func fsTryLock(*os.File) (bool, error) { return false, fsErrLockUnsupported }

func fsUnlock(*os.File) error { return nil }
