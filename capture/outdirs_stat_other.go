//go:build !(linux || dragonfly || openbsd || solaris || darwin || freebsd || netbsd)

package capture

import "io/fs"

// stateOf reads what the produced-file rules compare from an Lstat result. This platform (Windows
// among others) gives no status-change time and no inode through os.FileInfo: detection falls back
// to mtime and the pre-scan comparison (see the comment at the top of outdirs.go).
func stateOf(info fs.FileInfo) fileState {
	return fileState{mode: info.Mode(), size: info.Size(), mtime: info.ModTime().UnixNano()}
}
