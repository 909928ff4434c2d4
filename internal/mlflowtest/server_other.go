//go:build !unix

package mlflowtest

import (
	"os/exec"
	"time"
)

func ownProcessGroup(cmd *exec.Cmd) {}

// stopProcessGroup kills the server; on Windows `mlflow server`'s uvicorn child may need a job
// object to be stopped with it, which the tests do not need on the platforms CI runs.
func stopProcessGroup(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(grace):
	}
}
