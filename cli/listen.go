package cli

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// listener is an address that Caddy is about to listen on, in Caddy's
// syntax ([network/]host:port[-port], unix//path), and what it is for.
type listener struct {
	addr string
	use  string // e.g. "--from", "server srv0", "admin endpoint"
}

// checkFree returns an error naming each of ls whose address another
// process already listens on.
//
// Caddy sets SO_REUSEPORT on its TCP sockets, so that a new config can bind
// while the old one still holds the port. The kernel then lets any socket
// of the same user that also sets it bind the same address: a second Caddy,
// sidecar or dev proxy starts without a word, and each process gets part of
// the connections. A plain bind, as here, fails on an address that is
// being listened on. Caddy unlinks a unix socket's file and binds afresh,
// taking new connections from whatever listens there; that a connection
// succeeds tells that something does.
//
// Only a clear "in use" refuses. An address whose placeholders or syntax
// Caddy will reject, a privileged port, or a host that is not on this
// machine is left for Caddy to report, or to handle, as it always does.
func checkFree(ls ...listener) error {
	var busy []string
	repl := caddy.NewReplacer()
	for _, l := range ls {
		// Caddy replaces global placeholders, such as {env.PORT}, in
		// listen addresses the same way.
		addr, err := repl.ReplaceOrErr(l.addr, true, true)
		if err != nil {
			continue
		}
		na, err := caddy.ParseNetworkAddress(addr)
		if err != nil {
			continue
		}
		for _, one := range na.Expand() { // each port of a range
			if inUse(one) {
				busy = append(busy, fmt.Sprintf("%s (%s)", one, l.use))
			}
		}
	}
	if len(busy) > 0 {
		return fmt.Errorf("%s: already in use by another process; stop it or choose another address (sharing an address splits the traffic between the two)", strings.Join(busy, ", "))
	}
	return nil
}

// inUse reports whether something listens on na, a single address.
func inUse(na caddy.NetworkAddress) bool {
	switch {
	case na.IsUnixNetwork():
		path, _, _ := strings.Cut(na.Host, "|") // drop the socket file's permission bits
		c, err := net.DialTimeout(na.Network, path, time.Second)
		if err != nil {
			return false // no file, or a stale one
		}
		c.Close()
		return true
	case strings.HasPrefix(na.Network, "tcp"):
		l, err := net.Listen(na.Network, na.JoinHostPort(0))
		if err != nil {
			return errors.Is(err, syscall.EADDRINUSE)
		}
		l.Close()
		return false
	}
	// A file descriptor is handed over already listening. Other networks,
	// datagram ones or a plugin's, are not checked.
	return false
}
