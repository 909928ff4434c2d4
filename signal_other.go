//go:build !unix

package main

import (
	"fmt"
	"syscall"
)

func signalName(sig syscall.Signal) string {
	return fmt.Sprintf("signal %d", int(sig))
}
