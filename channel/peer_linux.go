//go:build linux

package channel

import "golang.org/x/sys/unix"

// peerCheck says what checkPeer does on this platform.
const peerCheck = "SO_PEERCRED"

// peerUID is the uid of the peer at connect time (SO_PEERCRED).
func peerUID(fd int) (uint32, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return cred.Uid, nil
}
