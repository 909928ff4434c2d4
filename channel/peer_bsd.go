//go:build darwin || freebsd

package channel

import "golang.org/x/sys/unix"

// peerCheck says what checkPeer does on this platform.
const peerCheck = "LOCAL_PEERCRED"

// peerUID is the effective uid of the peer at connect time (LOCAL_PEERCRED, like getpeereid).
func peerUID(fd int) (uint32, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, err
	}
	return cred.Uid, nil
}
