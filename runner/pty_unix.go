//go:build unix

package runner

import (
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/mltrack/mltrack/proctree"
)

// ptyPlan says which of the command's descriptors get the pty slave: only those whose mltrack
// counterpart is a terminal, so `mltrack -- make 2>err.log` still fills err.log through a pipe.
type ptyPlan struct{ stdin, stdout, stderr bool }

func planPTY(spec Spec) (ptyPlan, bool) {
	inTerm, outTerm, errTerm := isTerminal(spec.Stdin), isTerminal(spec.Stdout), isTerminal(spec.Stderr)
	switch spec.PTY {
	case PTYOff:
		return ptyPlan{}, false
	case PTYAuto:
		if !outTerm {
			return ptyPlan{}, false
		}
	}
	p := ptyPlan{stdin: inTerm, stdout: outTerm, stderr: errTerm}
	if !p.stdout && !p.stderr {
		// PTYOn without any terminal output (CI): the user asked for a terminal, so the command's
		// output goes through the pty and then to Stdout.
		p.stdout, p.stderr = true, true
	}
	return p, true
}

// ctty is the command's descriptor number that becomes its controlling terminal.
func (p ptyPlan) ctty() int {
	switch {
	case p.stdin:
		return 0
	case p.stdout:
		return 1
	}
	return 2
}

// ptySession is the pseudo-terminal between mltrack's terminal and the command. The command is a
// session leader with the pty as controlling terminal, so its own line discipline turns Ctrl-C
// and Ctrl-Z into signals for the command, and the command sees a terminal of the real size.
type ptySession struct {
	master    *os.File
	slaveName string
	stdinFd   int         // mltrack's stdin when it is a terminal forwarded into the pty, else -1
	sizeFd    int         // terminal whose window size the pty copies, else -1
	raw       *term.State // while mltrack's terminal is in raw mode: the modes to restore
	input     *stdinCopier
	pgid      int // the command's process group (its session leader's)

	// sharesGroup: mltrack shares its process group with others (see sharesProcessGroup).
	// sharedGroup: besides, mltrack's terminal is its controlling terminal and in raw mode, so the
	// others no longer get the keyboard's signals from it (see watchKeys).
	sharesGroup bool
	sharedGroup atomic.Bool

	// suspending is set when mltrack stopped the command with SIGSTOP on the user's behalf (see
	// stopCommand); mltrack then stops itself with SIGTSTP, as for a Ctrl-Z without a pty.
	suspending atomic.Bool
}

// openPTYPair is pty.Open; tests replace it to see the fallback to pipes.
var openPTYPair = pty.Open

// openPTY opens the pty pair, gives the slave the modes and window size of mltrack's terminal (as
// sudo does, so that erase characters and the like match), and returns the slave for the command.
func openPTY(spec Spec, plan ptyPlan) (*ptySession, *os.File, error) {
	m, slave, err := openPTYPair()
	if err != nil {
		return nil, nil, err
	}
	p := &ptySession{master: pollableMaster(m), slaveName: slave.Name(), stdinFd: -1, sizeFd: -1}
	if plan.stdin {
		p.stdinFd = int(spec.Stdin.Fd())
	}
	for _, f := range []*os.File{spec.Stdout, spec.Stderr, spec.Stdin} {
		if isTerminal(f) {
			p.sizeFd = int(f.Fd())
			break
		}
	}
	modesFrom := p.stdinFd
	if modesFrom < 0 {
		modesFrom = p.sizeFd
	}
	if modesFrom >= 0 {
		if st, err := term.GetState(modesFrom); err == nil {
			_ = term.Restore(int(slave.Fd()), st)
		}
	}
	p.resize()
	p.sharesGroup = sharesProcessGroup(spec.Stdin, spec.Stdout, spec.Stderr)
	// Raw before the command starts: a key typed meanwhile must not be taken by the cooked
	// terminal (a Ctrl-C would be lost), and the first output must not be translated again.
	p.enterRaw()
	return p, slave, nil
}

// start runs once the command started: the keyboard copy.
func (p *ptySession) start(pgid int) {
	p.pgid = pgid
	if p.stdinFd >= 0 {
		p.input = startStdinCopier(p.stdinFd, p.master, p.watchKeys)
	}
}

// stopCommand stops the command's process group on the user's behalf (Ctrl-Z, or SIGTSTP sent to
// mltrack).
//
// The command leads its session on the pty, so its process group is orphaned (no member has a
// parent in the same session), and the kernel discards SIGTSTP, SIGTTIN and SIGTTOU sent to an
// orphaned group: the pty's own Ctrl-Z would do nothing. SIGSTOP cannot be discarded; the command
// then gets SIGCONT on fg as usual. (Programs that suspend themselves with kill(0, SIGTSTP), such
// as editors in raw mode, still cannot stop under a pty.)
func (p *ptySession) stopCommand() {
	if p.pgid > 1 {
		p.suspending.Store(true)
		_ = unix.Kill(-p.pgid, unix.SIGSTOP)
	}
}

// watchKeys looks at the keys going into the pty while its line discipline turns keys into
// signals (ISIG). The keys are still written, so the pty signals the command, echoes ^C or ^Z and
// flushes as usual; watchKeys adds what a pty cannot do by itself:
//
//   - Ctrl-Z: the SIGTSTP the pty generates for the command's own group is discarded (see
//     stopCommand), so mltrack stops the group itself. A foreground job of a shell inside the pty
//     is not orphaned and stops by itself.
//   - When mltrack shares its process group with others (a script's loop, make), the terminal in
//     raw mode no longer signals them: without mltrack, Ctrl-C would have interrupted the script
//     too. mltrack sends them the signal the key stands for (see signalOwnGroup).
func (p *ptySession) watchKeys(keys []byte) {
	rc, err := p.master.SyscallConn()
	if err != nil {
		return
	}
	var t *unix.Termios
	fg := -1
	_ = rc.Control(func(fd uintptr) {
		t, _ = unix.IoctlGetTermios(int(fd), ioctlGetTermios)
		if pg, err := unix.IoctlGetInt(int(fd), unix.TIOCGPGRP); err == nil {
			fg = pg
		}
	})
	if t == nil || t.Lflag&unix.ISIG == 0 {
		return
	}
	for _, k := range keys {
		if k == posixVDisable {
			continue
		}
		switch k {
		case t.Cc[unix.VINTR]:
			p.signalOwnGroup(unix.SIGINT)
		case t.Cc[unix.VQUIT]:
			p.signalOwnGroup(unix.SIGQUIT)
		case t.Cc[unix.VSUSP]:
			if fg <= 0 || fg == p.pgid {
				// The others first: once the command is stopped, mltrack stops too.
				p.signalOwnGroup(unix.SIGTSTP)
				p.stopCommand()
			}
		}
	}
}

// signalOwnGroup sends a keyboard signal to the other members of mltrack's process group, when
// mltrack shares it and its terminal is in raw mode (see watchKeys). mltrack itself is left out:
// it would only pass the signal on to the command, which the pty signalled already.
func (p *ptySession) signalOwnGroup(sig syscall.Signal) {
	if !p.sharedGroup.Load() {
		return
	}
	snap, err := proctree.Take()
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, q := range snap.InGroup(unix.Getpgrp()) {
		if q.PID != self {
			_ = unix.Kill(q.PID, sig)
		}
	}
}

// resize copies the window size of mltrack's terminal to the pty; the kernel then sends SIGWINCH
// to the pty's foreground group. Without a terminal the pty gets 80x24.
func (p *ptySession) resize() {
	ws := &unix.Winsize{Row: 24, Col: 80}
	if p.sizeFd >= 0 {
		if w, err := unix.IoctlGetWinsize(p.sizeFd, unix.TIOCGWINSZ); err == nil && w.Row > 0 && w.Col > 0 {
			ws = w
		}
	}
	// Through the raw descriptor: File.Fd would switch the pollable master back to blocking mode.
	if rc, err := p.master.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
	}
}

// enterRaw puts mltrack's terminal in raw mode, so that every key (Ctrl-C, Ctrl-Z, arrows) goes
// unchanged into the pty, whose own line discipline then acts on it as the command expects, and
// the command's output reaches the screen unchanged (the pty already turned \n into \r\n).
// Only while mltrack is in the foreground: a background process may not change the modes.
func (p *ptySession) enterRaw() {
	if p.stdinFd < 0 || p.raw != nil || !terminalUsable(p.stdinFd) {
		return
	}
	if st, err := term.MakeRaw(p.stdinFd); err == nil {
		p.raw = st
		pg, err := unix.IoctlGetInt(p.stdinFd, unix.TIOCGPGRP) // fails unless it is our ctty
		p.sharedGroup.Store(p.sharesGroup && err == nil && pg == unix.Getpgrp())
	}
}

func (p *ptySession) leaveRaw() {
	if p.raw != nil {
		_ = term.Restore(p.stdinFd, p.raw)
		p.raw = nil
	}
}

// suspend gives mltrack's terminal back its normal modes before mltrack stops (Ctrl-Z). The
// command's last output (and the pty's echo of ^Z) is let through first, so that it appears before
// the shell's "Stopped", as without a pty.
func (p *ptySession) suspend() {
	for quiet, deadline := 0, time.Now().Add(100*time.Millisecond); quiet < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		if bytesBuffered(p.master) == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	p.leaveRaw()
}

// resume runs when mltrack continues: raw mode again if it is in the foreground, and the window
// size, which may have changed meanwhile.
func (p *ptySession) resume() {
	p.enterRaw()
	p.resize()
}

// close stops the keyboard copy, restores mltrack's terminal and closes the master.
func (p *ptySession) close() {
	if p.input != nil {
		p.input.stop()
	}
	p.leaveRaw()
	_ = p.master.Close()
}

// stdinCopier copies mltrack's terminal input into the pty. It waits with select on the terminal
// and on a wake-up pipe instead of blocking in read, so that Run can return without leaving a
// goroutine that would swallow the user's next keystroke.
type stdinCopier struct {
	fd           int
	master       *os.File
	sent         func([]byte) // called with the keys just written into the pty
	wakeR, wakeW *os.File
	done         chan struct{}
}

func startStdinCopier(fd int, master *os.File, sent func([]byte)) *stdinCopier {
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	c := &stdinCopier{fd: fd, master: master, sent: sent, wakeR: r, wakeW: w, done: make(chan struct{})}
	go c.run()
	return c
}

func (c *stdinCopier) run() {
	defer close(c.done)
	defer c.wakeR.Close()
	rc, err := c.wakeR.SyscallConn()
	if err != nil {
		return
	}
	wakeFd := -1
	_ = rc.Control(func(fd uintptr) { wakeFd = int(fd) })
	if wakeFd < 0 || wakeFd >= unix.FD_SETSIZE || c.fd >= unix.FD_SETSIZE {
		return
	}
	buf := make([]byte, 4096)
	for {
		var set unix.FdSet
		set.Set(c.fd)
		set.Set(wakeFd)
		if _, err := unix.Select(max(c.fd, wakeFd)+1, &set, nil, nil, nil); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if set.IsSet(wakeFd) {
			return
		}
		if !terminalUsable(c.fd) {
			// In the background (the job was continued with bg): a read would only fail. Wait
			// until the shell gives mltrack the terminal again.
			time.Sleep(100 * time.Millisecond)
			continue
		}
		n, err := unix.Read(c.fd, buf)
		if n > 0 {
			if _, err := c.master.Write(buf[:n]); err != nil {
				return
			}
			c.sent(buf[:n])
		}
		switch {
		case err == nil && n == 0:
			return // the terminal hung up
		case err == unix.EIO:
			time.Sleep(100 * time.Millisecond) // read from the background raced with bg
		case err != nil && err != unix.EINTR && err != unix.EAGAIN:
			return
		}
	}
}

// stop wakes the copier up and lets it end; it does not wait, the copier may be blocked writing
// into a full pty whose reader is gone.
func (c *stdinCopier) stop() {
	if c == nil {
		return
	}
	_, _ = c.wakeW.Write([]byte{0})
	select {
	case <-c.done:
	case <-time.After(100 * time.Millisecond):
	}
	_ = c.wakeW.Close()
}
