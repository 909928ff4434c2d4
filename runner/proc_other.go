//go:build unix && !linux

package runner

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/mltrack/mltrack/proctree"
)

const (
	ioctlFIONREAD   = 0x4004667f // _IOR('f', 127, int), the same on Darwin and the BSDs
	ioctlGetTermios = unix.TIOCGETA
	posixVDisable   = 0xff // a c_cc entry with this value is disabled
)

// holderName is empty where descriptors of other processes cannot be listed.
func holderName(*os.File) string { return "" }

// findHolders cannot see other processes' descriptors here; the processes still in the command's
// process group are the likely holders.
func findHolders(_ map[string]bool, pgid int) []proctree.Proc {
	if pgid <= 1 {
		return nil
	}
	snap, err := proctree.Take()
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []proctree.Proc
	for _, p := range snap.InGroup(pgid) {
		if p.PID != self {
			out = append(out, p)
		}
	}
	return out
}

func isZombie(int) bool { return false }

// pollableMaster keeps the master blocking: kqueue's support for pty masters is not relied upon.
// Copying then ends at the deadline by abandoning the reader.
func pollableMaster(m *os.File) *os.File { return m }
