//go:build linux

package channel

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerCheck says what checkPeer does on this platform.
const peerCheck = "SO_PEERCRED"

// checkPeer refuses a connection from another user than uid (SO_PEERCRED gives the uid of the
// peer at connect time).
func checkPeer(c net.Conn, uid int) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("channel: not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("channel: peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
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
