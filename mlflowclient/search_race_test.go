//go:build race

package mlflowclient

// raceEnabled: the race detector slows memory-heavy code several times; timing tests allow for it.
const raceEnabled = true
