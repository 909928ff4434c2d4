//go:build !race

package capture

const outputTestsUnderRace = false
