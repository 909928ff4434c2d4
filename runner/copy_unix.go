//go:build unix

package runner

import (
	"os"

	"golang.org/x/sys/unix"
)

// bytesBuffered is how many bytes can be read from f right now (FIONREAD), 0 when unknown.
func bytesBuffered(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), ioctlFIONREAD); err == nil {
			n = v
		}
	})
	return n
}

// readNoWait reads once from the non-blocking f without waiting. atEnd reports that the stream is
// finished (end of file, or EIO from a pty master whose slave nobody holds any more); otherwise
// another process still holds the writing side open.
func readNoWait(f *os.File, buf []byte) (n int, atEnd bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, true
	}
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, rerr = unix.Read(int(fd), buf)
		return true // never wait: one attempt
	}); err != nil {
		return 0, true
	}
	switch {
	case rerr == nil && n > 0:
		return n, false
	case rerr == nil:
		return 0, true
	case rerr == unix.EAGAIN:
		return 0, false
	default:
		return 0, true
	}
}
