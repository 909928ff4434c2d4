//go:build !unix

package mlflowclient

import (
	"os/exec"
	"time"
)

func restOwnProcessGroup(cmd *exec.Cmd) {}

// restStopProcessGroup kills the server; on Windows `mlflow server`'s uvicorn child may need a
// job object to be stopped with it, which these tests do not need on the platforms CI runs.
func restStopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(grace):
	}
}
