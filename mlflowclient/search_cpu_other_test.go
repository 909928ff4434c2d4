//go:build !unix

package mlflowclient

import "time"

func processCPUTime() time.Duration { return 0 }
