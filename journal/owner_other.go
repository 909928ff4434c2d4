//go:build !linux

package journal

import (
	"github.com/shirou/gopsutil/v4/process"
)

// lookupProcess asks gopsutil: whether the pid exists (kill(pid, 0) on Unix, the process list on
// Windows) and, best effort, its creation time in milliseconds since the epoch.
func lookupProcess(pid int) (processState, error) {
	if pid > 1<<31-1 {
		return processState{}, nil
	}
	ok, err := process.PidExists(int32(pid))
	if err != nil {
		return processState{}, err
	}
	if !ok {
		return processState{}, nil
	}
	st := processState{exists: true}
	if p, err := process.NewProcess(int32(pid)); err == nil {
		if ms, err := p.CreateTime(); err == nil && ms > 0 {
			st.start = uint64(ms)
		}
	}
	return st, nil
}

// startTimesDiffer compares creation times in milliseconds. They are derived from the system clock
// and may be rounded differently by two readers, so only a gap of more than a second counts.
func startTimesDiffer(a, b uint64) bool {
	if a > b {
		a, b = b, a
	}
	return b-a > 1000
}
