package runner

import (
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// extraRelayed are the relayed signals that exist only on Linux.
var extraRelayed = []syscall.Signal{unix.SIGPWR}

// RaiseSignal makes mltrack die of sig, as the command did, so that mltrack's parent sees the same
// wait status (a shell prints "Terminated", "Segmentation fault", `$?` is 128+N, make reports the
// signal). Core dumps are turned off first: the command may have dumped core, mltrack must not.
//
// The default disposition is restored with a raw rt_sigaction: os/signal's Reset is not enough,
// because for SIGQUIT, SIGABRT, SIGSEGV, SIGUSR1 and others the Go runtime keeps its own handler,
// which would print a goroutine dump or ignore the signal. The signal is then unblocked and sent to
// the calling thread, which makes the kernel act on it before the call returns.
//
// RaiseSignal returns only when that did not end the process (the signal's default action is to
// ignore it, or to stop); the caller then exits with 128+N.
func RaiseSignal(sig syscall.Signal) {
	if sig <= 0 {
		return
	}
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	// With a piping core_pattern (systemd-coredump, apport) the kernel runs the helper whatever
	// RLIMIT_CORE says; a process that is not dumpable is never dumped.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// SIGKILL has no disposition to restore (rt_sigaction refuses it with EINVAL) and always kills.
	if sig != unix.SIGKILL {
		var dfl sigaction
		if err := rtSigaction(sig, &dfl, nil); err != nil {
			return
		}
	}
	restoreMask := unblockOnThisThread(sig)
	defer restoreMask()
	_ = unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}

// stopSelf stops mltrack with sig (SIGTSTP, SIGTTIN, SIGTTOU or SIGSTOP), as the command was stopped,
// so that the shell sees the whole job stopped with the same signal and takes the terminal. The
// signal is sent to this very thread with its default action, so the kernel stops the process
// before tgkill returns: when stopSelf returns, mltrack has been continued (or the stop was
// discarded, as the kernel does for an orphaned process group), and the caller can continue the
// command. Go's handler is put back afterwards.
func stopSelf(sig syscall.Signal) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if sig != unix.SIGSTOP {
		var dfl, old sigaction
		if err := rtSigaction(sig, &dfl, &old); err != nil {
			sig = unix.SIGSTOP
		} else {
			defer func() { _ = rtSigaction(sig, &old, nil) }()
		}
	}
	restoreMask := unblockOnThisThread(sig)
	defer restoreMask()
	_ = unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}

// sigaction is a kernel struct sigaction, treated as opaque words: a zero value means SIG_DFL with
// no flags and an empty mask on every architecture, and an old value is only ever handed back
// unchanged. It is larger than the kernel's struct anywhere.
type sigaction [16]uintptr

// handlerIndex is the word holding sa_handler: the first, except on MIPS where sa_flags comes first.
var handlerIndex = func() int {
	if strings.HasPrefix(runtime.GOARCH, "mips") {
		return 1
	}
	return 0
}()

// ignoreTerminalSignals sets SIGTTIN and SIGTTOU to SIG_IGN with raw rt_sigaction calls, and
// returns a func that puts the previous actions back exactly. os/signal cannot do this: after
// signal.Ignore, signal.Reset leaves them ignored (the runtime has no record of the default), and
// an ignored signal would be inherited by every command started later.
func ignoreTerminalSignals() (restore func()) {
	var ign sigaction
	ign[handlerIndex] = 1 // SIG_IGN
	var olds []func()
	for _, sig := range []syscall.Signal{unix.SIGTTIN, unix.SIGTTOU} {
		var old sigaction
		if rtSigaction(sig, &ign, &old) == nil {
			olds = append(olds, func() { _ = rtSigaction(sig, &old, nil) })
		}
	}
	return func() {
		for _, f := range olds {
			f()
		}
	}
}

// rtSigaction calls rt_sigaction(2) directly, bypassing the Go runtime's bookkeeping.
func rtSigaction(sig syscall.Signal, act, old *sigaction) error {
	var actp, oldp uintptr
	if act != nil {
		actp = uintptr(unsafe.Pointer(act))
	}
	if old != nil {
		oldp = uintptr(unsafe.Pointer(old))
	}
	// The last argument is sizeof(kernel sigset_t): 8 bytes, 16 on MIPS.
	for _, size := range []uintptr{8, 16} {
		_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), actp, oldp, size, 0, 0)
		if e == 0 {
			return nil
		}
		if e != unix.EINVAL {
			return e
		}
	}
	return unix.EINVAL
}

// unblockOnThisThread makes sure the locked thread can receive sig; the returned func restores the
// thread's mask.
func unblockOnThisThread(sig syscall.Signal) (restore func()) {
	var set, old unix.Sigset_t
	n := uint(sig - 1)
	bits := uint(unsafe.Sizeof(set.Val[0]) * 8)
	set.Val[n/bits] |= 1 << (n % bits)
	if err := unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, &old); err != nil {
		return func() {}
	}
	return func() { _ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) }
}
