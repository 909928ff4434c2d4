package proctree

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ. It is 100 on every Linux architecture Go supports; reading it would need
// cgo (sysconf), and the kernel ABI fixes it for /proc.
const clockTicks = 100

var pageSize = uint64(os.Getpagesize())

func take() (Snapshot, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return Snapshot{}, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Taken: time.Now(), Procs: make(map[int]Proc, len(names))}
	buf := make([]byte, 0, 1024)
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		buf, err = readFile("/proc/"+name+"/stat", buf[:0])
		if err != nil {
			continue // the process ended between the listing and the read
		}
		if p, ok := parseStat(pid, buf); ok {
			snap.Procs[pid] = p
		}
	}
	return snap, nil
}

func readFile(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil || n == 0 {
			return buf, nil
		}
	}
}

// parseStat reads /proc/PID/stat. The command name is in parentheses and may itself contain spaces
// and parentheses, so the fields after it are found from the last ')'.
func parseStat(pid int, b []byte) (Proc, bool) {
	open := bytes.IndexByte(b, '(')
	closeIdx := bytes.LastIndexByte(b, ')')
	if open < 0 || closeIdx < open || closeIdx+2 > len(b) {
		return Proc{}, false
	}
	p := Proc{PID: pid, Comm: string(b[open+1 : closeIdx]), ReadBytes: -1, WriteBytes: -1}
	fields := bytes.Fields(b[closeIdx+2:])
	// fields[0] is state (field 3 of stat); field N of stat is fields[N-3].
	if len(fields) < 22 {
		return Proc{}, false
	}
	num := func(i int) uint64 {
		v, _ := strconv.ParseUint(string(fields[i]), 10, 64)
		return v
	}
	inum := func(i int) int {
		v, _ := strconv.Atoi(string(fields[i]))
		return v
	}
	p.PPID = inum(1)           // 4 ppid
	p.PGID = inum(2)           // 5 pgrp
	p.SID = inum(3)            // 6 session
	utime := num(11)           // 14 utime
	stime := num(12)           // 15 stime
	p.Threads = inum(17)       // 20 num_threads
	p.StartTime = num(19)      // 22 starttime
	p.RSS = num(21) * pageSize // 24 rss (pages)
	p.UserCPU = time.Duration(utime) * time.Second / clockTicks
	p.SystemCPU = time.Duration(stime) * time.Second / clockTicks
	return p, true
}

// ioCounters reads read_bytes/write_bytes from /proc/PID/io (storage I/O actually caused by the
// process). It needs the same uid or CAP_SYS_PTRACE; -1 when unreadable.
func ioCounters(pid int) (int64, int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return -1, -1
	}
	var r, w int64 = -1, -1
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		k, v, ok := bytes.Cut(line, []byte(": "))
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "read_bytes":
			r = n
		case "write_bytes":
			w = n
		}
	}
	return r, w
}
