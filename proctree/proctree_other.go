//go:build !linux

package proctree

import (
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// take uses gopsutil where there is no /proc to read directly. It is slower (several system calls a
// process) but only runs once a sampling tick.
func take() (Snapshot, error) {
	procs, err := process.Processes()
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Taken: time.Now(), Procs: make(map[int]Proc, len(procs))}
	for _, pr := range procs {
		p := Proc{PID: int(pr.Pid), ReadBytes: -1, WriteBytes: -1}
		if ppid, err := pr.Ppid(); err == nil {
			p.PPID = int(ppid)
		}
		if ct, err := pr.CreateTime(); err == nil {
			p.StartTime = uint64(ct)
		}
		if name, err := pr.Name(); err == nil {
			p.Comm = name
		}
		if t, err := pr.Times(); err == nil {
			p.UserCPU = time.Duration(t.User * float64(time.Second))
			p.SystemCPU = time.Duration(t.System * float64(time.Second))
		}
		if m, err := pr.MemoryInfo(); err == nil {
			p.RSS = m.RSS
		}
		if n, err := pr.NumThreads(); err == nil {
			p.Threads = int(n)
		}
		p.PGID = pgid(p.PID)
		snap.Procs[p.PID] = p
	}
	return snap, nil
}

func ioCounters(pid int) (int64, int64) {
	pr, err := process.NewProcess(int32(pid))
	if err != nil {
		return -1, -1
	}
	io, err := pr.IOCounters()
	if err != nil {
		return -1, -1
	}
	return int64(io.ReadBytes), int64(io.WriteBytes)
}
