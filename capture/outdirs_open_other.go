//go:build !unix

package capture

import "os"

// openProducedFile opens path for reading. Without O_NOFOLLOW/O_NONBLOCK here, the checks made by the
// walk (regular file, resolved path) are what protect the open.
func openProducedFile(path string) (*os.File, error) {
	return os.Open(path)
}
