// Package loopback decides whether a URL may use plain HTTP: only when it
// cannot leave the machine. Keys, tokens and secrets travel over HTTPS
// everywhere else.
package loopback

import (
	"net"
	"net/url"
	"strings"
)

// Host reports whether host (a name or IP literal without port) is the
// loopback interface: "localhost", 127.0.0.0/8 or ::1.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL reports whether u points at the loopback interface.
func URL(u *url.URL) bool { return u != nil && Host(u.Hostname()) }
