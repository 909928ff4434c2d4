//go:build unix

package capture

import (
	"os"
	"syscall"
)

// openProducedFile opens path for reading without blocking (a FIFO swapped in after the walk looked
// would otherwise block until a writer appears) and without following a symlink in its last
// component (the path was resolved already; a link there now was put there since).
func openProducedFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
