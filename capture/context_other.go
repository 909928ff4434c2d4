//go:build !unix

package capture

import "os/exec"

// killTree leaves the default cancellation (kill git itself); Cmd.WaitDelay bounds the wait for any
// helper git started that still holds its output.
func killTree(*exec.Cmd) {}
