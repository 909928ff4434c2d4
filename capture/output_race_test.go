//go:build race

package capture

// outputTestsUnderRace: the race detector slows byte loops about tenfold; the big-stream tests shrink.
const outputTestsUnderRace = true
