//go:build windows

package proctree

// Windows has no process groups in the POSIX sense; job objects would be the equivalent.
func pgid(int) int { return 0 }
