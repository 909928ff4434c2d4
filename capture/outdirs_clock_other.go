//go:build !linux

package capture

import "time"

// coarseNow is Linux-only: elsewhere the file-timestamp clock is not known, and timestampSlack is
// used instead.
func coarseNow() (time.Time, bool) { return time.Time{}, false }
