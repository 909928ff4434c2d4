package capture

import (
	"time"

	"golang.org/x/sys/unix"
)

// coarseNow reads the clock Linux stamps file times with (current_time() uses the coarse
// real-time clock, updated once a tick; multigrain fine stamps are never earlier than it).
func coarseNow() (time.Time, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts); err != nil {
		return time.Time{}, false
	}
	return time.Unix(ts.Unix()), true
}
