//go:build unix

package mlflowclient

import (
	"os/exec"
	"syscall"
	"time"
)

// restOwnProcessGroup puts the server in its own process group: `mlflow server` starts uvicorn
// (and possibly job runners) as children, and stopping only the parent would leave them behind.
func restOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// restStopProcessGroup sends SIGTERM to the group the test started, waits up to grace for the
// leader to exit, then kills the group.
func restStopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
	}
	// Children may outlive the leader briefly; the group is ours alone.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
