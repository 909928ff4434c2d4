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

// testSignals are the signals `testchild kill NAME` knows.
var testSignals = map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "SEGV": syscall.SIGSEGV,
	"HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT, "ABRT": syscall.SIGABRT, "USR1": syscall.SIGUSR1}
