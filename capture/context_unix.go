//go:build unix

package capture

import (
	"os/exec"
	"syscall"
)

// killTree makes the context's kill reach git's whole process group: a helper git started (an
// fsmonitor hook, a wrapper script) would otherwise survive it and keep its output pipe open.
func killTree(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
