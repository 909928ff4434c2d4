//go:build !unix

package channel

import (
	"fmt"
	"os"
)

// checkPrivateDir makes sure dir is a directory. On Windows, file modes say nothing about who may
// enter it; its ACL (inherited from the user's profile for a directory under %TEMP% or
// %LOCALAPPDATA%) is what keeps other users out.
func checkPrivateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}
