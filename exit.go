package main

import (
	"github.com/mltrack/mltrack/runner"
)

// exitCodeFor is the status mltrack exits with when it cannot die of the command's signal.
func exitCodeFor(res runner.Result) int {
	return res.ExitCode
}

// exitLikeChild makes mltrack's caller see what it would have seen without mltrack: the command's
// exit code, or death by the same signal (a shell then reports "Terminated", and `$?` is 128+N).
// Timeouts exit 124 or 137 as coreutils timeout does.
func exitLikeChild(res runner.Result) int {
	if res.Signal != 0 && !res.TimedOut {
		runner.RaiseSignal(res.Signal)
	}
	return exitCodeFor(res)
}
