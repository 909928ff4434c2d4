//go:build !race

package mlflowclient

const raceEnabled = false
