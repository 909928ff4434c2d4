//go:build !unix

package delivery

import (
	"os/exec"
	"time"
)

func ownProcessGroup(*exec.Cmd) {}

func stopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(grace):
	}
}
