//go:build unix

package upstream

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// idleConnUsable reports whether an idle pooled connection can carry a new
// request: the server has not closed it and sent nothing unasked. net/http
// learns this from a goroutine that reads every idle connection; Direct
// has none, so it makes one non-blocking read of the socket (Go's sockets
// are non-blocking) before reuse. For TLS it reads the TCP socket under
// the TLS layer: any byte there, a close_notify included, means the
// connection is not idle and clean. Connections that expose no socket are
// assumed usable.
func idleConnUsable(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	usable := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, rerr := syscall.Read(int(fd), b[:])
		for errors.Is(rerr, syscall.EINTR) {
			_, rerr = syscall.Read(int(fd), b[:])
		}
		// Only "nothing to read" leaves the connection usable; a read of
		// 0 bytes is the server's close, and a byte is one nobody asked
		// for.
		usable = errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && usable
}
