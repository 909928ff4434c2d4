//go:build unix

package mlflowclient

import (
	"syscall"
	"time"
)

// processCPUTime is the CPU time (user + system) this process used so far: benchmarks report it
// next to wall time, which other load on the machine inflates.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
