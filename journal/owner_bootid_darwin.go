//go:build darwin

package journal

import (
	"strings"

	"golang.org/x/sys/unix"
)

// currentBootID is macOS's boot session UUID, new at every boot.
func currentBootID() string {
	s, err := unix.Sysctl("kern.bootsessionuuid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(s)
}
