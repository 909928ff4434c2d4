//go:build unix

package runner

import (
	"os"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// ctty is mltrack's controlling terminal in pipe mode, which the command shares.
//
// Like sudo and tini, mltrack puts the command in its own process group and makes that group the
// terminal's foreground group (tcsetpgrp): the terminal then sends keyboard signals (Ctrl-C, Ctrl-\,
// Ctrl-Z) to the command directly and once, and mltrack, now in the background, gets none of them.
// The command can read the terminal and change its modes without being stopped. When the command
// stops or ends, mltrack takes the terminal back, as a shell does with its jobs.
type ctty struct {
	f          *os.File
	fd         int
	ownPgrp    int
	saved      *term.State // mltrack's modes at the start, restored for the shell
	childModes *term.State // the command's modes when it stopped, given back when it continues
	gave       bool        // the command's group was made the foreground group at least once
}

// openCtty opens mltrack's controlling terminal, nil when it has none (CI, cron, a daemon).
func openCtty() *ctty {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	fd := int(f.Fd())
	if _, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err != nil {
		_ = f.Close()
		return nil
	}
	t := &ctty{f: f, fd: fd, ownPgrp: unix.Getpgrp()}
	t.saved, _ = term.GetState(fd)
	return t
}

func (t *ctty) close() { _ = t.f.Close() }

// foreground reports whether mltrack's process group is the terminal's foreground group.
func (t *ctty) foreground() bool {
	pg, err := unix.IoctlGetInt(t.fd, unix.TIOCGPGRP)
	return err == nil && pg == t.ownPgrp
}

// hungUp reports whether the terminal is gone (after a hang-up every ioctl fails with EIO).
func (t *ctty) hungUp() bool {
	_, err := unix.IoctlGetInt(t.fd, unix.TIOCGPGRP)
	return err != nil
}

// give makes the command's group the foreground group, with the modes it had when it stopped.
// Called only while mltrack is in the foreground.
func (t *ctty) give(pgid int) {
	if pgid <= 1 {
		return
	}
	if t.childModes != nil {
		_ = term.Restore(t.fd, t.childModes)
		t.childModes = nil
	}
	if unix.IoctlSetPointerInt(t.fd, unix.TIOCSPGRP, pgid) == nil {
		t.gave = true
	}
}

// take makes mltrack's group the foreground group again when the command's group has it, keeping
// the command's modes for give and restoring mltrack's own for the shell.
func (t *ctty) take(pgid int) {
	pg, err := unix.IoctlGetInt(t.fd, unix.TIOCGPGRP)
	if err != nil || pg == t.ownPgrp || (pgid > 1 && pg != pgid) {
		return // hung up, already ours, or someone else's (the user moved things on)
	}
	t.childModes, _ = term.GetState(t.fd)
	_ = unix.IoctlSetPointerInt(t.fd, unix.TIOCSPGRP, t.ownPgrp)
	if t.saved != nil {
		_ = term.Restore(t.fd, t.saved)
	}
}

// restore runs when Run returns: the terminal goes back to mltrack's group if the command's group
// still has it. The modes mltrack started with are restored only when restoreModes is set: after a
// death by signal (a killed full-screen program leaves the terminal raw) or a panic. After a normal
// exit the command's modes are its result (`mltrack -- stty -echo`) and stay, as bash does.
func (t *ctty) restore(pgid int, restoreModes bool) {
	if t.gave {
		if pg, err := unix.IoctlGetInt(t.fd, unix.TIOCGPGRP); err == nil && pg != t.ownPgrp && (pgid <= 1 || pg == pgid) {
			_ = unix.IoctlSetPointerInt(t.fd, unix.TIOCSPGRP, t.ownPgrp)
		}
	}
	if restoreModes && t.saved != nil && t.foreground() {
		_ = term.Restore(t.fd, t.saved)
	}
	t.close()
}

// terminalUsable reports whether mltrack may read terminal fd or change its modes without the
// kernel's job control interfering: fd is not mltrack's controlling terminal, or mltrack is in its
// foreground process group.
func terminalUsable(fd int) bool {
	pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return true // ENOTTY: a terminal, but not ours to share
	}
	return pg == unix.Getpgrp()
}

// sharesProcessGroup reports whether mltrack's process group holds other processes besides
// mltrack and the command, as when it runs in a pipeline (`mltrack -- make | less`: less reads the
// keyboard from /dev/tty), from a script or from make. The command must then stay in that group:
// moving it to a group of its own and giving that group the terminal would stop the others
// (SIGTTIN/SIGTTOU), and keyboard signals would no longer reach the script or make.
func sharesProcessGroup(files ...*os.File) bool {
	if unix.Getpgrp() != os.Getpid() {
		return true // not the leader: the group is a pipeline's or the parent's
	}
	for _, f := range files {
		if f == nil {
			continue
		}
		if st, err := f.Stat(); err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0 {
			return true // a job-control shell makes the first command of a pipeline the leader
		}
	}
	return false
}
