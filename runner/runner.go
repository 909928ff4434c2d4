package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// PTYMode says whether the command runs on a pseudo-terminal.
type PTYMode int

const (
	// PTYAuto uses a pseudo-terminal when mltrack's stdout is a terminal, so that the command behaves
	// as it does interactively (colours, progress bars, line buffering) while mltrack can copy its output.
	PTYAuto PTYMode = iota
	// PTYOn always uses a pseudo-terminal. The pty serves the command's stdout and stderr that lead to a
	// terminal; when neither does, it serves both and its output goes to Stdout.
	PTYOn
	// PTYOff never uses a pseudo-terminal: the command gets mltrack's descriptors or pipes.
	PTYOff
)

// Exit codes mltrack uses when the command's own status cannot tell (coreutils timeout/env convention).
const (
	ExitStartFailed   = 125     // the command could not be started for another reason (directory, pty, fork)
	ExitNotExecutable = 126     // the command was found but could not be executed
	ExitNotFound      = 127     // the command was not found
	ExitTimedOut      = 124     // the timeout fired and SIGTERM ended the command
	ExitTimedOutKill  = 128 + 9 // the timeout fired and SIGKILL was needed (137)
)

// Sentinel errors for Result.StartErr; test with errors.Is.
var (
	ErrNotFound      = errors.New("command not found")
	ErrNotExecutable = errors.New("command not executable")
	ErrStartFailed   = errors.New("command could not be started")
)

// Spec describes one run of the command.
type Spec struct {
	// Argv is passed to exec as given, never through a shell. Argv[0] is looked up like execvp does,
	// with the PATH found in Env (or mltrack's own PATH when Env is nil).
	Argv []string
	// Env is the command's whole environment; nil means mltrack's own.
	Env []string
	// Dir is the command's working directory; "" means mltrack's.
	Dir string
	// Stdin, Stdout and Stderr are mltrack's own standard files. Runner uses them to detect a
	// terminal, read its window size, put it in raw mode, and as the destination of the command's
	// output. A nil file gives the command /dev/null.
	Stdin, Stdout, Stderr *os.File
	// CaptureStdout and CaptureStderr, when non-nil, receive a copy of every byte the command writes,
	// in order, after those bytes were written to Stdout/Stderr. When nil, the command gets mltrack's
	// descriptor itself (no copy at all). Their errors are ignored and their panics recovered:
	// tracking never breaks the command. They are not called after Run returns.
	CaptureStdout, CaptureStderr io.Writer
	// PTY chooses between a pseudo-terminal and plain descriptors.
	PTY PTYMode
	// Timeout, when positive, ends the command like coreutils timeout: SIGTERM to its process group
	// and to descendants that left it, then SIGKILL after KillAfter when KillAfter is positive.
	Timeout   time.Duration
	KillAfter time.Duration
	// OutputGrace bounds how long Run waits, after the command exited, for other processes (such as
	// a daemonised grandchild) that still hold its output open. 0 means 2s.
	OutputGrace time.Duration
	// Started, when set, is called once with the command's PID right after it started.
	Started func(pid int)

	// testSignals lets in-package tests inject "signals received by mltrack" without sending real
	// signals to the test binary.
	testSignals <-chan os.Signal
}

// DefaultOutputGrace is the OutputGrace used when Spec.OutputGrace is 0.
const DefaultOutputGrace = 2 * time.Second

// Result says how the command ended.
type Result struct {
	// PID is the command's process ID, 0 when it never ran.
	PID int
	// ExitCode is what mltrack should exit with: the command's code; 128+N when it died of signal N;
	// 124 when the timeout's SIGTERM ended it (whatever its own status), 137 when SIGKILL was needed;
	// 126 not executable, 127 not found, 125 other start failures.
	ExitCode int
	// ChildExitCode is the command's own status, ignoring the timeout mapping: its exit code, 128+N
	// when it died of signal N, or the start-failure code.
	ChildExitCode int
	// Signal is the signal that killed the command, 0 if none.
	Signal syscall.Signal
	// SignalSource says who sent it: "timeout", "forwarded" (mltrack received it and passed it on),
	// "external" (anything else: the terminal, another process, a crash), or "" when no signal.
	SignalSource string
	// TimedOut: the timeout fired. KillNeeded: SIGKILL had to be sent after the timeout's SIGTERM.
	TimedOut, KillNeeded bool
	// StartErr is non-nil when the command never ran; errors.Is(StartErr, ErrNotFound /
	// ErrNotExecutable / ErrStartFailed). Its message is one line naming the path and the reason.
	StartErr error
	// Start is when the command was started, End when it was seen to exit.
	Start, End time.Time
	// UserCPU and SystemCPU are the command's CPU time including its descendants it waited for.
	UserCPU, SystemCPU time.Duration
	// MaxRSS is the largest resident set of any single process among them, in bytes (not the sum).
	MaxRSS int64
	// PTY: the command ran on a pseudo-terminal.
	PTY bool
	// SharedOutput: stdout and stderr went through one pty and were captured as one stream (on
	// CaptureStdout).
	SharedOutput bool
	// Warnings are one-line notes about what did not go as asked (held output, survivors, fallbacks).
	Warnings []string
}

// Run starts the command, supervises it until it exits and its output is copied, and says how it
// ended. It always returns; a command that could not start gives a Result with StartErr set.
// mltrack's terminal (foreground process group and modes) is restored before Run returns, also when
// Run panics.
//
// Cancelling ctx is treated like a SIGTERM received by mltrack: it is forwarded to the command, and
// Run still waits for the command to end.
func Run(ctx context.Context, spec Spec) (res Result) {
	if spec.OutputGrace <= 0 {
		spec.OutputGrace = DefaultOutputGrace
	}
	if err := checkDir(spec.Dir); err != nil {
		return startFailed(res, err)
	}
	path, err := lookPath(spec.Argv, spec.Env, spec.Dir)
	if err != nil {
		return startFailed(res, err)
	}

	s := newSupervisor(spec, &res)
	defer s.restore() // terminal, signal dispositions: on every path, panics included

	if err := s.start(path); err != nil {
		return startFailed(res, err)
	}
	if spec.Started != nil {
		spec.Started(res.PID)
	}
	s.superviseUntilExit(ctx)
	s.finishOutput()
	s.reportSurvivors()
	s.fillResult()
	return res
}

// superviseUntilExit relays signals, handles job control and the timeout until the command exits.
func (s *supervisor) superviseUntilExit(ctx context.Context) {
	var timeoutC, killC <-chan time.Time
	if s.spec.Timeout > 0 {
		t := time.NewTimer(s.spec.Timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	ctxDone := ctx.Done()
	for {
		select {
		case ev := <-s.waitEvents:
			if ev.stopped {
				s.onChildStopped(ev.stopSignal)
				continue
			}
			s.status, s.res.End = ev.status, ev.at
			return
		case sig := <-s.signals:
			s.onSignal(sig)
		case sig := <-s.spec.testSignals:
			s.onSignal(sig)
		case <-timeoutC:
			timeoutC = nil
			s.res.TimedOut = true
			s.signalTree(syscall.SIGTERM)
			if s.spec.KillAfter > 0 {
				t := time.NewTimer(s.spec.KillAfter)
				defer t.Stop()
				killC = t.C
			}
		case <-killC:
			killC = nil
			s.res.KillNeeded = true
			s.signalTree(syscall.SIGKILL)
		case <-ctxDone:
			ctxDone = nil
			s.forward(syscall.SIGTERM)
		}
	}
}

// finishOutput waits until the output copiers reach the end of the command's output. Copying stops
// OutputGrace after the command's exit when another process still holds the output open.
func (s *supervisor) finishOutput() {
	deadline := s.res.End.Add(s.spec.OutputGrace)
	for _, c := range s.copiers {
		c.endBy(deadline)
	}
	var held []*outputCopier
	for _, c := range s.copiers {
		if c.wait(deadline) {
			held = append(held, c)
		}
	}
	if len(held) > 0 {
		s.warnHolders(held)
	}
	s.copyProblems()
}

// waitEvent is what the wait goroutine reports: a stop (job control) or the end.
type waitEvent struct {
	stopped    bool
	stopSignal syscall.Signal
	status     exitStatus
	at         time.Time
}

func (s *supervisor) warn(format string, args ...any) {
	s.res.Warnings = append(s.res.Warnings, fmt.Sprintf(format, args...))
}
