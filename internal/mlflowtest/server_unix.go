//go:build unix

package mlflowtest

import (
	"os/exec"
	"syscall"
	"time"
)

// ownProcessGroup puts the server in its own process group: `mlflow server` starts uvicorn (and
// possibly job runners) as children, and stopping only the parent would leave them behind.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopProcessGroup sends SIGTERM to the group the test started, waits up to grace for the leader
// to exit, then kills what is left of the group (children may outlive the leader briefly).
func stopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
