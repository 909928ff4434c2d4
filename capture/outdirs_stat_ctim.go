//go:build linux || dragonfly || openbsd || solaris

package capture

import (
	"io/fs"
	"syscall"
)

// stateOf reads what the produced-file rules compare from an Lstat result.
func stateOf(info fs.FileInfo) fileState {
	s := fileState{mode: info.Mode(), size: info.Size(), mtime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		s.id = fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
		s.ctime = st.Ctim.Nano()
		s.hasCtime = true
	}
	return s
}
