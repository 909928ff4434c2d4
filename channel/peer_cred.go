//go:build linux || darwin || freebsd

package channel

import (
	"fmt"
	"net"
)

// checkPeer refuses a connection from another user than uid, by the peer credentials the kernel
// recorded at connect time (peerUID, per platform).
func checkPeer(c net.Conn, uid int) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("channel: not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("channel: peer credentials: %w", err)
	}
	var peer uint32
	var credErr error
	if err := raw.Control(func(fd uintptr) { peer, credErr = peerUID(int(fd)) }); err != nil {
		return fmt.Errorf("channel: peer credentials: %w", err)
	}
	if credErr != nil {
		return fmt.Errorf("channel: peer credentials: %w", credErr)
	}
	if int(peer) != uid {
		return fmt.Errorf("channel: refused a connection from uid %d; only uid %d may log into this run", peer, uid)
	}
	return nil
}
