package runner

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/mltrack/mltrack/proctree"
)

const (
	ioctlFIONREAD   = unix.TIOCINQ // how many bytes are waiting to be read
	ioctlGetTermios = unix.TCGETS
	posixVDisable   = 0 // a c_cc entry with this value is disabled
)

// holderName is how a descriptor of the same pipe looks in /proc/PID/fd, so that the processes
// still holding the command's output open can be named.
func holderName(f *os.File) string {
	rc, err := f.SyscallConn()
	if err != nil {
		return ""
	}
	var st unix.Stat_t
	var serr error
	_ = rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) })
	if serr != nil {
		return ""
	}
	return fmt.Sprintf("pipe:[%d]", st.Ino)
}

// findHolders returns the processes (other than mltrack) with a descriptor whose /proc/PID/fd
// link is one of ids: the exact holders, whatever their process group or session. It runs once,
// only when output was still held open after the grace, so one scan of /proc is affordable.
func findHolders(ids map[string]bool, _ int) []proctree.Proc {
	if len(ids) == 0 {
		return nil
	}
	snap, err := proctree.Take()
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []proctree.Proc
	for pid, p := range snap.Procs {
		if pid == self {
			continue
		}
		dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // gone, or another user's process
		}
		for _, e := range entries {
			if link, err := os.Readlink(dir + e.Name()); err == nil && ids[link] {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// isZombie reports whether pid has exited but not been reaped yet (it is then no survivor: in a
// container whose init does not reap, such zombies stay around).
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] == 'Z' || b[i+2] == 'X'
}

// pollableMaster returns a non-blocking duplicate of the pty master that Go's poller manages, so
// that reads can be given a deadline and cancelled by Close (creack/pty hands the master over in
// blocking mode, where neither works: creack/pty #174). The original is closed.
func pollableMaster(m *os.File) *os.File {
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return m
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return m
	}
	_ = m.Close()
	return os.NewFile(uintptr(fd), "/dev/ptmx")
}
