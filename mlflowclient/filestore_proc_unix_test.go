//go:build unix

package mlflowclient

import (
	"os/exec"
	"syscall"
	"time"
)

// fsSetProcessGroup puts the command in its own process group so that the server's workers can be
// stopped with it.
func fsSetProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// fsStopProcessGroup sends SIGTERM to the group, waits up to grace for the leader to exit, then
// SIGKILLs whatever is left of the group.
func fsStopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	if cmd.Process == nil {
		return
	}
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
}
