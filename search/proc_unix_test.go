//go:build unix

package search

import (
	"os/exec"
	"syscall"
	"time"
)

// ownProcessGroup puts the server in its own process group, so that stopping it also stops the
// uvicorn children `mlflow server` starts.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopProcessGroup sends SIGTERM to the group this test started, waits up to grace for the leader,
// then kills what is left of the group.
func stopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
