//go:build unix && !linux

package proctree

import "syscall"

func pgid(pid int) int {
	g, err := syscall.Getpgid(pid)
	if err != nil {
		return 0
	}
	return g
}
