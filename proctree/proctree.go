// Package proctree takes one snapshot of the machine's processes and answers questions about the tree
// below a process: which processes descend from it, and what they use. runner uses it to find
// descendants that left the command's process group before a kill; capture uses it to sample
// resources. One snapshot costs one scan of the process table, whatever the tree's size.
package proctree

import (
	"time"
)

// Proc is one process as seen in a snapshot.
type Proc struct {
	PID, PPID, PGID, SID int
	// StartTime tells processes apart when the kernel reuses a PID: a PID with another start time is
	// another process. Its unit is platform-specific (clock ticks since boot on Linux).
	StartTime uint64
	Comm      string
	UserCPU   time.Duration // cumulative, this process only
	SystemCPU time.Duration // cumulative, this process only
	RSS       uint64        // resident set size in bytes
	// ReadBytes/WriteBytes are storage I/O (Linux /proc/PID/io read_bytes/write_bytes); -1 where
	// the platform or permissions do not tell.
	ReadBytes, WriteBytes int64
	Threads               int
}

// Snapshot is the process table at one instant.
type Snapshot struct {
	Taken time.Time
	Procs map[int]Proc
}

// Take scans the process table once. withIO asks for per-process I/O counters, which cost one more
// read per process in the tree (they are read only for the tree below root, see Tree).
func Take() (Snapshot, error) {
	return take()
}

// Descendants returns every process below root (root excluded), following parent links, so that a
// grandchild that called setsid or changed its process group is still found. Orphans re-parented
// to init (or a subreaper) are no longer below root and are not found: that is the best any
// parent-link scan can do; the process group catches most of them.
func (s Snapshot) Descendants(root int) []Proc {
	children := make(map[int][]int, len(s.Procs))
	for pid, p := range s.Procs {
		if pid != root {
			children[p.PPID] = append(children[p.PPID], pid)
		}
	}
	var out []Proc
	queue := []int{root}
	seen := map[int]bool{root: true}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if seen[c] {
				continue
			}
			seen[c] = true
			out = append(out, s.Procs[c])
			queue = append(queue, c)
		}
	}
	return out
}

// Tree returns root (when alive) followed by its descendants, with I/O counters filled in where the
// platform allows.
func (s Snapshot) Tree(root int) []Proc {
	var out []Proc
	if p, ok := s.Procs[root]; ok {
		out = append(out, p)
	}
	out = append(out, s.Descendants(root)...)
	for i := range out {
		out[i].ReadBytes, out[i].WriteBytes = ioCounters(out[i].PID)
	}
	return out
}

// InGroup returns the processes whose process group is pgid.
func (s Snapshot) InGroup(pgid int) []Proc {
	var out []Proc
	for _, p := range s.Procs {
		if p.PGID == pgid {
			out = append(out, p)
		}
	}
	return out
}
