//go:build unix

package main

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// signalName is the conventional name of a signal (SIGTERM), as tags and summaries show it.
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}
