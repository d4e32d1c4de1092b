//go:build !unix

package upstream

import "net"

// idleConnUsable cannot look at the socket on this platform: the
// connection is assumed usable, and a request whose write fails on it is
// sent again on a fresh one.
func idleConnUsable(net.Conn) bool { return true }
