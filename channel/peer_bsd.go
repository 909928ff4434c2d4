//go:build darwin || freebsd

package channel

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerCheck says what checkPeer does on this platform.
const peerCheck = "LOCAL_PEERCRED"

// checkPeer refuses a connection from another user than uid (LOCAL_PEERCRED gives the effective
// uid of the peer at connect time, like getpeereid).
func checkPeer(c net.Conn, uid int) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("channel: not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("channel: peer credentials: %w", err)
	}
	var cred *unix.Xucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return fmt.Errorf("channel: peer credentials: %w", err)
	}
	if credErr != nil {
		return fmt.Errorf("channel: peer credentials: %w", credErr)
	}
	if int(cred.Uid) != uid {
		return fmt.Errorf("channel: refused a connection from uid %d; only uid %d may log into this run", cred.Uid, uid)
	}
	return nil
}
