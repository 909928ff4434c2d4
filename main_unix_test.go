//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

// killSelf dies of sig the way a C program would (no Go handler in the way).
func killSelf(sig syscall.Signal) {
	signal.Reset(sig)
	syscall.Kill(os.Getpid(), sig)
	time.Sleep(5 * time.Second)
	os.Exit(99)
}
