package journal

import (
	"fmt"
	"os"
	"strings"
)

// CurrentOwner describes this process the way Meta records a journal's owner: its pid, its start
// time (Linux: field 22 of /proc/self/stat, clock ticks after boot; elsewhere the creation time in
// milliseconds since the epoch, best effort, 0 when unknown) and the boot id (Linux:
// /proc/sys/kernel/random/boot_id; macOS: kern.bootsessionuuid; elsewhere empty).
func CurrentOwner() (pid int, startTime uint64, bootID string) {
	pid = os.Getpid()
	if st, err := lookupProcess(pid); err == nil && st.exists {
		startTime = st.start
	}
	return pid, startTime, currentBootID()
}

// fillOwner records the creating process as the owner of a new journal, keeping what the caller
// set. A meta naming another process (tests) gets only the host filled in.
func fillOwner(meta *Meta) {
	if meta.Host == "" {
		meta.Host, _ = os.Hostname()
	}
	if meta.PID != 0 && meta.PID != os.Getpid() {
		return
	}
	pid, start, boot := CurrentOwner()
	meta.PID = pid
	if meta.PIDStartTime == 0 {
		meta.PIDStartTime = start
	}
	if meta.BootID == "" {
		meta.BootID = boot
	}
}

// processState is what the system says about a pid.
type processState struct {
	exists bool   // a process with this pid exists (a zombie counts as gone: exists is false)
	zombie bool   // it exists but has exited and waits for its parent (never runs again)
	start  uint64 // its start time in CurrentOwner's unit; 0 when unknown
}

// OwnerGone reports whether the mltrack process that recorded a journal is provably gone, with a
// reason for the record (the mltrack.closed_reason tag): the machine rebooted since (another boot
// id), no process has its pid, or the process with its pid started at another time (the pid was
// reused). Whatever cannot be proved counts as alive: a journal from another host, a pid whose
// state cannot be read, a journal without owner. A run is never closed while it may still run.
func OwnerGone(meta Meta) (gone bool, why string) {
	pid := meta.PID
	if pid <= 0 {
		return false, "the journal does not say which process recorded it"
	}
	if host, err := os.Hostname(); err == nil && meta.Host != "" && host != "" && !strings.EqualFold(host, meta.Host) {
		return false, fmt.Sprintf("it was recorded on host %s; its mltrack process can only be checked there", meta.Host)
	}
	if boot := currentBootID(); meta.BootID != "" && boot != "" && boot != meta.BootID {
		return true, fmt.Sprintf("mltrack process %d is gone (the machine rebooted)", pid)
	}
	st, err := lookupProcess(pid)
	switch {
	case err != nil:
		return false, fmt.Sprintf("cannot tell whether mltrack process %d still runs: %v", pid, err)
	case st.zombie:
		return true, fmt.Sprintf("mltrack process %d is gone (it exited)", pid)
	case !st.exists:
		return true, fmt.Sprintf("mltrack process %d is gone (no such process)", pid)
	case meta.PIDStartTime != 0 && st.start != 0 && startTimesDiffer(meta.PIDStartTime, st.start):
		return true, fmt.Sprintf("mltrack process %d is gone (its pid now belongs to another process)", pid)
	}
	return false, fmt.Sprintf("mltrack process %d may still be running", pid)
}
