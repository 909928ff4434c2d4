//go:build !unix

package main

import (
	"os"
	"syscall"
)

// killSelf has no signals to die of on this platform; the scripts that use it are unix-only.
func killSelf(sig syscall.Signal) {
	os.Exit(128 + int(sig))
}

// testSignals are the signals `testchild kill NAME` knows: none here.
var testSignals = map[string]syscall.Signal{}
