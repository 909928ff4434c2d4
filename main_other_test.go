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
