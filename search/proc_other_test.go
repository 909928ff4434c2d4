//go:build !unix

package search

import (
	"os/exec"
	"time"
)

func ownProcessGroup(cmd *exec.Cmd) {}

// stopProcessGroup kills the server process (the tests that start one run on Unix in CI).
func stopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(grace):
	}
}
