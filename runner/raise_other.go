//go:build unix && !linux

package runner

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// extraRelayed are relayed signals beyond the common set; none here.
var extraRelayed []syscall.Signal

// RaiseSignal makes mltrack die of sig, as the command did, so that mltrack's parent sees the same
// wait status. Core dumps are turned off first.
//
// Without a raw sigaction (Linux only), only signals whose Go default is to die of them (SIGHUP,
// SIGINT, SIGTERM) and SIGKILL can be re-raised faithfully: for the others (SIGQUIT, SIGABRT,
// SIGUSR1...) the Go runtime would print a goroutine dump or ignore them. RaiseSignal returns when the process did
// not die; the caller then exits with 128+N.
func RaiseSignal(sig syscall.Signal) {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	switch sig {
	case syscall.SIGKILL: // cannot be caught: always kills
		_ = syscall.Kill(os.Getpid(), sig)
		time.Sleep(200 * time.Millisecond)
	case syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM:
		signal.Reset(sig)
		_ = syscall.Kill(os.Getpid(), sig)
		time.Sleep(200 * time.Millisecond) // delivery to some thread is asynchronous
	}
}

// ignoreTerminalSignals ignores SIGTTIN and SIGTTOU through os/signal. Undoing that is imperfect
// without a raw sigaction: signal.Reset would leave them ignored (and inherited by later commands),
// so the restore installs and stops Go's own handler, which commands started later do not inherit.
func ignoreTerminalSignals() (restore func()) {
	signal.Ignore(syscall.SIGTTIN, syscall.SIGTTOU)
	return func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTTIN, syscall.SIGTTOU)
		signal.Stop(c)
	}
}

// stopSelf stops mltrack so that the shell sees the job stopped. Without a way to restore the
// default action of SIGTSTP under Go's handler, SIGSTOP is used (a shell says "Stopped (signal)"
// rather than "Stopped"). The stop is asynchronous here: the short sleep lets it take effect
// before the caller continues the command.
func stopSelf(syscall.Signal) {
	_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	time.Sleep(100 * time.Millisecond)
}
