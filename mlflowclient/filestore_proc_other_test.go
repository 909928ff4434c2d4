//go:build !unix

package mlflowclient

import (
	"os/exec"
	"time"
)

func fsSetProcessGroup(*exec.Cmd) {}

// fsStopProcessGroup kills the server process (Windows has no process groups to signal; its
// workers end when their parent's pipes close).
func fsStopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(grace):
	}
}
