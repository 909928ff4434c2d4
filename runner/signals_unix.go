//go:build unix

package runner

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// relayedSignals are the catchable signals mltrack receives on the command's behalf and passes on.
// Not relayed: SIGPIPE (mltrack's own writes raise it; the command meets a closed reader itself),
// SIGTTIN/SIGTTOU (ignored by mltrack while the command runs, see ignoreTerminalStops), SIGCHLD,
// SIGURG and SIGPROF (the Go runtime's own), and synchronous faults.
var relayedSignals = append([]syscall.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGALRM, unix.SIGWINCH, unix.SIGCONT, unix.SIGTSTP,
	unix.SIGXCPU, unix.SIGXFSZ, unix.SIGVTALRM, unix.SIGIO,
}, extraRelayed...)

var (
	relayOnce sync.Once
	relayable []os.Signal
)

// relayableSignals are the relayed signals not ignored by mltrack, computed once per process.
//
// A signal ignored when mltrack started must stay ignored for the command too (`nohup mltrack ...`,
// background jobs of non-interactive shells): it is not caught, so the command inherits SIG_IGN.
// The Go runtime tells (signal.Ignored) only for SIGHUP and SIGINT, the two it leaves ignored; for
// the others it installs its own handler at start-up, and the command gets the default action.
//
// SIGPIPE is handled for the rest of mltrack's life: otherwise Go kills a program whose write to a
// closed fd 1 or 2 fails, and mltrack must survive `mltrack -- yes | head -1` to report the command's
// own SIGPIPE. A handled signal is reset to the default in the command, as it should be.
func relayableSignals() []os.Signal {
	relayOnce.Do(func() {
		for _, sig := range relayedSignals {
			if !signal.Ignored(sig) {
				relayable = append(relayable, sig)
			}
		}
		if !signal.Ignored(unix.SIGPIPE) {
			signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE)
		}
	})
	return relayable
}

// startRelay starts receiving the relayed signals. It runs before the command starts, so that a
// signal arriving meanwhile is not lost (nor kills mltrack).
func (s *supervisor) startRelay() {
	ch := make(chan os.Signal, 32)
	signal.Notify(ch, relayableSignals()...)
	s.relay, s.signals = ch, ch
}

func (s *supervisor) stopRelay() {
	if s.relay != nil {
		signal.Stop(s.relay)
	}
}

// ignoreTerminalStops makes mltrack ignore SIGTTIN and SIGTTOU once the command has started (so
// that the command itself still gets the default). While the command owns the terminal, mltrack is
// in a background process group, yet it must still give the terminal back and forth (tcsetpgrp,
// tcsetattr) and write the command's output to it; the kernel allows that to a process ignoring
// SIGTTOU. A caught (not ignored) SIGTTOU would make the kernel restart the call forever, and the
// default would stop mltrack. A background read gets EIO instead of a signal.
func (s *supervisor) ignoreTerminalStops() {
	terminalStops.Lock()
	defer terminalStops.Unlock()
	if terminalStops.users == 0 {
		terminalStops.restore = ignoreTerminalSignals()
	}
	terminalStops.users++
	s.ignoringTerminalStops = true
}

func (s *supervisor) restoreTerminalStops() {
	if !s.ignoringTerminalStops {
		return
	}
	s.ignoringTerminalStops = false
	terminalStops.Lock()
	defer terminalStops.Unlock()
	if terminalStops.users--; terminalStops.users == 0 {
		terminalStops.restore()
	}
}

// terminalStops counts the Runs that need SIGTTIN/SIGTTOU ignored, in case Runs overlap.
var terminalStops struct {
	sync.Mutex
	users   int
	restore func()
}

// onSignal handles a signal mltrack received: pass it on to the command once.
//
// In groupShared mode the terminal and the shell signal mltrack's whole process group, the command
// included, so the signals they send (keyboard INT/QUIT/TSTP, hang-up, window change, continue)
// already reached it and are not sent again.
func (s *supervisor) onSignal(sig os.Signal) {
	ss, ok := sig.(syscall.Signal)
	if !ok {
		return
	}
	shared := s.mode == groupShared
	switch ss {
	case unix.SIGWINCH:
		if s.pty != nil {
			s.pty.resize() // the kernel signals the pty's foreground group itself
			return
		}
		if shared {
			return
		}
	case unix.SIGCONT:
		s.onContinued()
		if shared || time.Now().Before(s.ignoreContUntil) {
			return
		}
	case unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP:
		if shared {
			return
		}
	case unix.SIGHUP:
		if shared {
			return
		}
		if s.tty != nil && s.tty.hungUp() {
			return // the kernel sent SIGHUP to the terminal's foreground group: the command's
		}
	}
	s.forward(ss)
}

// forward passes sig on to the command and remembers it for Result.SignalSource.
func (s *supervisor) forward(sig syscall.Signal) {
	if sig == unix.SIGTSTP && s.pty != nil {
		s.pty.stopCommand() // the kernel would discard SIGTSTP for the pty session's group
		return
	}
	s.forwarded[sig] = true
	s.signalCommand(sig)
}

// signalCommand sends sig to the command's process group, or only to the command when it shares
// mltrack's group.
func (s *supervisor) signalCommand(sig syscall.Signal) {
	switch {
	case s.pid <= 0:
	case s.mode == groupShared || s.pgid <= 1:
		_ = unix.Kill(s.pid, sig)
	default:
		_ = unix.Kill(-s.pgid, sig)
	}
}

// contEcho is how long a SIGCONT received after mltrack continued the command itself is taken as
// the echo of the same continuation (the shell's `fg` continues mltrack, which continues the
// command), not as a new signal to forward.
const contEcho = 500 * time.Millisecond

// onChildStopped runs when the command was stopped (Ctrl-Z, SIGSTOP, background terminal access).
// mltrack does what a shell expects from a job: it stops too, after taking the terminal back, and
// when continued (fg/bg) it hands the terminal back and continues the command.
func (s *supervisor) onChildStopped(sig syscall.Signal) {
	if (sig == unix.SIGTTIN || sig == unix.SIGTTOU) && s.mode == groupOwn && s.tty != nil && s.tty.foreground() {
		// mltrack is in the foreground (the user ran fg) but the command's group is not yet:
		// hand it the terminal and let it go on.
		s.tty.give(s.pgid)
		s.signalCommand(unix.SIGCONT)
		return
	}
	if sig == unix.SIGSTOP && s.pty != nil && s.pty.suspending.Swap(false) {
		sig = unix.SIGTSTP // mltrack stopped the command for a Ctrl-Z: stop as for a Ctrl-Z
	}
	s.takeTerminal()
	stopSelf(sig)
	s.ignoreContUntil = time.Now().Add(contEcho)
	s.handTerminalBack()
	s.signalCommand(unix.SIGCONT)
}

// onContinued runs when mltrack got SIGCONT: when it is now in the foreground, the command gets
// the terminal (and in pty mode mltrack's terminal goes back to raw mode).
func (s *supervisor) onContinued() {
	s.handTerminalBack()
}

func (s *supervisor) takeTerminal() {
	switch {
	case s.pty != nil:
		s.pty.suspend()
	case s.tty != nil && s.mode == groupOwn:
		s.tty.take(s.pgid)
	}
}

func (s *supervisor) handTerminalBack() {
	switch {
	case s.pty != nil:
		s.pty.resume()
	case s.tty != nil && s.mode == groupOwn && s.tty.foreground():
		s.tty.give(s.pgid)
	}
}
