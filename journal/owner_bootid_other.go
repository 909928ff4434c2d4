//go:build !linux && !darwin

package journal

// currentBootID is unknown here: a reboot is then noticed through the pid and its start time only.
func currentBootID() string { return "" }
