//go:build unix

package runner

import (
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mltrack/mltrack/proctree"
)

// groupMode is where the command's processes live.
type groupMode int

const (
	// groupOwn: the command leads a process group of its own (pipe mode), so that signals and the
	// timeout reach its whole tree, and the group can own the terminal.
	groupOwn groupMode = iota
	// groupShared: the command stays in mltrack's process group, which mltrack shares with others
	// (see sharesProcessGroup); mltrack then never touches the terminal's foreground group.
	groupShared
	// groupSession: the command leads a session on the pty (pty mode).
	groupSession
)

// platform is the Unix part of the supervisor.
type platform struct {
	mode  groupMode
	pgid  int
	tty   *ctty       // pipe mode: mltrack's controlling terminal, shared with the command
	pty   *ptySession // pty mode
	relay chan os.Signal

	ignoringTerminalStops bool
	ignoreContUntil       time.Time

	signaled       map[int]proctree.Proc // processes the timeout signalled, to report survivors
	lastTreeSignal syscall.Signal
}

// start prepares the descriptors, starts the command and its copiers and the wait goroutine.
func (s *supervisor) start(path string) error {
	s.startRelay()
	stdin, stdout, stderr, attr, err := s.prepare()
	if err != nil {
		s.closeChildFiles()
		s.abandonCopiers()
		return err
	}
	cmd := s.command(path, stdin, stdout, stderr)
	cmd.SysProcAttr = attr
	s.res.Start = time.Now()
	err = cmd.Start()
	s.ignoreTerminalStops()
	s.closeChildFiles()
	if err != nil {
		s.abandonCopiers()
		return classifyStartError(path, err)
	}
	s.cmd, s.pid, s.res.PID = cmd, cmd.Process.Pid, cmd.Process.Pid
	s.pgid = s.pid
	if s.mode == groupShared {
		s.pgid = unix.Getpgrp()
	}
	s.startCopiers()
	if s.pty != nil {
		s.pty.start(s.pgid)
	}
	go s.waitLoop()
	return nil
}

// prepare chooses pty or pipe mode and the process group, and returns the command's descriptors.
func (s *supervisor) prepare() (stdin, stdout, stderr *os.File, attr *syscall.SysProcAttr, err error) {
	if plan, ok := planPTY(s.spec); ok {
		p, slave, perr := openPTY(s.spec, plan)
		if perr == nil {
			return s.preparePTY(p, slave, plan)
		}
		s.warn("no pseudo-terminal available (%v); the command runs with pipes", perr)
	}

	stdin = s.spec.Stdin
	if stdout, err = s.outputFor("stdout", s.spec.Stdout, s.spec.CaptureStdout); err != nil {
		return
	}
	if stderr, err = s.outputFor("stderr", s.spec.Stderr, s.spec.CaptureStderr); err != nil {
		return
	}
	attr = &syscall.SysProcAttr{}
	s.tty = openCtty()
	switch {
	case s.tty == nil:
		s.mode = groupOwn
		attr.Setpgid = true
	case sharesProcessGroup(s.spec.Stdin, s.spec.Stdout, s.spec.Stderr):
		s.mode = groupShared
		s.tty.close()
		s.tty = nil
	default:
		s.mode = groupOwn
		attr.Setpgid = true
		if s.tty.foreground() {
			// The child makes its new group the foreground group itself, before exec and with
			// signals blocked: done by mltrack after the start, the command could already have
			// touched the terminal from the background and been stopped.
			attr.Foreground = true
			attr.Ctty = s.tty.fd
			s.tty.gave = true
		}
	}
	return
}

func (s *supervisor) preparePTY(p *ptySession, slave *os.File, plan ptyPlan) (stdin, stdout, stderr *os.File, attr *syscall.SysProcAttr, err error) {
	s.pty, s.mode = p, groupSession
	s.res.PTY, s.res.SharedOutput = true, plan.stdout && plan.stderr
	s.childFiles = append(s.childFiles, slave)

	stdin = s.spec.Stdin
	if plan.stdin {
		stdin = slave
	}
	// The master carries what the command writes to the slave, to the real terminal it stands for.
	name, dst, capture := "stdout", s.spec.Stdout, s.spec.CaptureStdout
	if !plan.stdout {
		name, dst, capture = "stderr", s.spec.Stderr, s.spec.CaptureStderr
	} else if plan.stderr {
		name = "stdout and stderr"
	}
	c := newOutputCopier(name, p.master, dst, capture, true)
	c.holder = p.slaveName
	s.copiers = append(s.copiers, c)

	if plan.stdout {
		stdout = slave
	} else if stdout, err = s.outputFor("stdout", s.spec.Stdout, s.spec.CaptureStdout); err != nil {
		return
	}
	if plan.stderr {
		stderr = slave
	} else if stderr, err = s.outputFor("stderr", s.spec.Stderr, s.spec.CaptureStderr); err != nil {
		return
	}
	// Setsid makes the command a session leader, Setctty gives it the pty as its controlling
	// terminal; Ctty is the command's descriptor number for the slave.
	attr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: plan.ctty()}
	return
}

// waitLoop waits for the command with WUNTRACED, so that a stop (Ctrl-Z) is seen, and reports it.
// It waits itself (wait4) rather than through exec.Cmd.Wait, which cannot report stops.
func (s *supervisor) waitLoop() {
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		_, err := unix.Wait4(s.pid, &ws, unix.WUNTRACED, &ru)
		if err == unix.EINTR {
			continue
		}
		at := time.Now()
		if err != nil {
			// ECHILD: someone else reaped the command; its status is lost.
			s.waitEvents <- waitEvent{status: exitStatus{code: ExitStartFailed}, at: at}
			return
		}
		if ws.Stopped() {
			s.waitEvents <- waitEvent{stopped: true, stopSignal: ws.StopSignal(), at: at}
			continue
		}
		if !ws.Exited() && !ws.Signaled() {
			continue
		}
		st := exitStatus{
			userCPU:   time.Duration(ru.Utime.Nano()),
			systemCPU: time.Duration(ru.Stime.Nano()),
			maxRSS:    maxRSSBytes(int64(ru.Maxrss)),
		}
		if ws.Signaled() {
			st.signal = ws.Signal()
		} else {
			st.code = ws.ExitStatus()
		}
		_ = s.cmd.Process.Release() // reaped: only the process handle (pidfd) is left to close
		s.waitEvents <- waitEvent{status: st, at: at}
		return
	}
}

// maxRSSBytes converts ru_maxrss, which is in bytes on Darwin and in KiB elsewhere.
func maxRSSBytes(v int64) int64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return v
	}
	return v * 1024
}

// signalTree sends sig for the timeout, as coreutils timeout does, to the command's process group,
// and also to its descendants that left the group (setsid, their own job control), found by a
// process-tree scan taken first. After SIGTERM comes SIGCONT, so that stopped processes act on it.
func (s *supervisor) signalTree(sig syscall.Signal) {
	if s.signaled == nil {
		s.signaled = map[int]proctree.Proc{}
	}
	s.lastTreeSignal = sig
	var outside []int
	if snap, err := proctree.Take(); err == nil {
		if p, ok := snap.Procs[s.pid]; ok {
			s.signaled[p.PID] = p
		}
		for _, p := range snap.Descendants(s.pid) {
			s.signaled[p.PID] = p
		}
		if s.mode != groupShared {
			for _, p := range snap.InGroup(s.pgid) {
				s.signaled[p.PID] = p
			}
		}
		// Processes signalled earlier that were re-parented since (their parent died) are no
		// longer descendants; they are still ours if their start time matches.
		for pid, p := range s.signaled {
			q, ok := snap.Procs[pid]
			switch {
			case !ok || q.StartTime != p.StartTime:
				delete(s.signaled, pid)
			case pid != s.pid && (s.mode == groupShared || q.PGID != s.pgid):
				outside = append(outside, pid)
			}
		}
	}
	sigs := []syscall.Signal{sig}
	if sig != unix.SIGKILL {
		sigs = append(sigs, unix.SIGCONT)
	}
	for _, sg := range sigs {
		s.signalCommand(sg)
		for _, pid := range outside {
			_ = unix.Kill(pid, sg)
		}
	}
}

// reportSurvivors warns about processes the timeout signalled that are still alive once the
// command has been reaped, after giving them a moment to die.
func (s *supervisor) reportSurvivors() {
	if len(s.signaled) == 0 {
		return
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for {
		alive := s.survivors()
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.warn("%s still running after the timeout's %s", describeProcs(alive), signalName(s.lastTreeSignal))
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (s *supervisor) survivors() []proctree.Proc {
	snap, err := proctree.Take()
	if err != nil {
		return nil
	}
	seen := map[int]bool{os.Getpid(): true}
	var alive []proctree.Proc
	add := func(p proctree.Proc) {
		if !seen[p.PID] && !isZombie(p.PID) {
			seen[p.PID] = true
			alive = append(alive, p)
		}
	}
	for pid, p := range s.signaled {
		if q, ok := snap.Procs[pid]; ok && q.StartTime == p.StartTime {
			add(q)
		}
	}
	if s.mode != groupShared {
		for _, p := range snap.InGroup(s.pgid) {
			add(p)
		}
	}
	return alive
}

// holderGroup is the process group whose members may hold the output open (used where holders
// cannot be found exactly).
func (s *supervisor) holderGroup() int {
	if s.mode == groupShared {
		return 0
	}
	return s.pgid
}

// restore gives mltrack's terminal back and stops relaying signals. It runs on every path out of
// Run, panics included.
func (s *supervisor) restore() {
	s.closeChildFiles()
	if s.pty != nil {
		s.pty.close()
	}
	if s.tty != nil {
		s.tty.restore(s.pgid, !s.finished || s.status.signal != 0)
	}
	s.restoreTerminalStops()
	s.stopRelay()
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case unix.SIGKILL:
		return "SIGKILL"
	case unix.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}
