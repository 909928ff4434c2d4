//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procSpec is one process the suite starts and measures.
type procSpec struct {
	Argv  []string
	Dir   string
	Env   []string
	Stdin string // a file to read stdin from; empty: /dev/null
	// DrainStdout gives the process a pipe for stdout that the suite reads and discards, as a
	// terminal or a downstream program would; otherwise stdout goes to /dev/null.
	DrainStdout bool
	// PollHWM reads /proc/PID/status every 20 ms and keeps the last VmHWM (the process's own peak
	// resident set, children excluded).
	PollHWM bool
}

// procResult is what one run of a process measured.
type procResult struct {
	Wall     time.Duration // start to exit (wait4 returned)
	LastByte time.Duration // start to the last stdout byte received (DrainStdout only)
	Bytes    int64         // stdout bytes received (DrainStdout only)
	User     time.Duration // wait4 rusage: the process and every descendant it waited for
	Sys      time.Duration
	MaxRSS   int64 // wait4 rusage maxrss in bytes: the largest single process among them
	HWM      int64 // last VmHWM read of the process itself, in bytes (PollHWM only)
	Exit     int
	Stderr   string // the last 4 KiB
}

func (r procResult) CPU() time.Duration { return r.User + r.Sys }

// tailBuffer keeps the last n bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	n   int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// run starts the process, waits for it and measures it. A non-zero exit is not an error here;
// callers decide (most treat it as a failed benchmark).
func run(spec procSpec) (procResult, error) {
	var res procResult
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	if spec.Stdin != "" {
		f, err := os.Open(spec.Stdin)
		if err != nil {
			return res, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	stderr := &tailBuffer{n: 4096}
	cmd.Stderr = stderr

	var pr, pw *os.File
	if spec.DrainStdout {
		var err error
		if pr, pw, err = os.Pipe(); err != nil {
			return res, err
		}
		cmd.Stdout = pw
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		if pr != nil {
			pr.Close()
			pw.Close()
		}
		return res, fmt.Errorf("start %s: %w", spec.Argv[0], err)
	}
	var drained sync.WaitGroup
	if pr != nil {
		pw.Close()
		drained.Add(1)
		go func() {
			defer drained.Done()
			defer pr.Close()
			buf := make([]byte, 256<<10)
			for {
				n, err := pr.Read(buf)
				if n > 0 {
					res.Bytes += int64(n)
					res.LastByte = time.Since(start)
				}
				if err != nil {
					return
				}
			}
		}()
	}
	stopPoll := make(chan struct{})
	var polled sync.WaitGroup
	if spec.PollHWM {
		polled.Add(1)
		go func() {
			defer polled.Done()
			path := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status"
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				if hwm, ok := readVmHWM(path); ok && hwm > res.HWM {
					res.HWM = hwm
				}
				select {
				case <-stopPoll:
					return
				case <-tick.C:
				}
			}
		}()
	}
	err := cmd.Wait()
	res.Wall = time.Since(start)
	close(stopPoll)
	polled.Wait()
	drained.Wait()
	res.Stderr = stderr.String()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return res, fmt.Errorf("wait %s: %w", spec.Argv[0], err)
	}
	st := cmd.ProcessState
	res.Exit = st.ExitCode()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		res.User = time.Duration(ru.Utime.Nano())
		res.Sys = time.Duration(ru.Stime.Nano())
		res.MaxRSS = ru.Maxrss * 1024 // KiB on Linux
	}
	return res, nil
}

// mustRun runs the process and fails when it exits non-zero.
func mustRun(spec procSpec) (procResult, error) {
	res, err := run(spec)
	if err != nil {
		return res, err
	}
	if res.Exit != 0 {
		return res, fmt.Errorf("%s exited %d: %s", strings.Join(spec.Argv, " "), res.Exit, lastLines(res.Stderr, 5))
	}
	return res, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// readVmHWM reads the VmHWM line (peak resident set) of /proc/PID/status, in bytes. A zombie has
// none, hence the caller keeps the last value read.
func readVmHWM(path string) (int64, bool) {
	return readStatusKB(path, "VmHWM:")
}

func readStatusKB(path, key string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte(key)) {
			fields := strings.Fields(string(line[len(key):]))
			if len(fields) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, false
			}
			return kb * 1024, true
		}
	}
	return 0, false
}
