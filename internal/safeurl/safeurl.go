// Package safeurl prints URLs without the parts that may hold secrets. A
// JWKS URL on a storage account can carry a SAS signature in its query, and
// an endpoint may be configured as https://user:password@host/...; neither
// may reach a log, an audit event, an error or %v. Scheme, host and path
// are kept, so an operator can still tell which endpoint failed.
package safeurl

import (
	"errors"
	"net/url"
	"strings"
)

// String returns raw without user info, query and fragment. A string that
// is not an absolute URL with a host (so that what looks like a path could
// be a mistyped secret) prints as "[invalid URL]".
func String(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "[invalid URL]"
	}
	// Cut the text rather than re-encode u, so that the path prints as
	// configured ({tenantid} stays unescaped).
	s, _, _ := strings.Cut(raw, "#")
	s, _, _ = strings.Cut(s, "?")
	if u.User != nil {
		i := strings.Index(s, "//") + 2
		end := strings.IndexByte(s[i:], '/')
		if end < 0 {
			end = len(s) - i
		}
		at := strings.LastIndexByte(s[i:i+end], '@')
		s = s[:i] + s[i+at+1:]
	}
	return s
}

// Error returns the *url.Error in err with its URL printed by String, and
// err itself when it holds none. Use it on errors of http.Client.Do and
// url.Parse, which quote the whole URL; the cause (a timeout, a
// cancellation) stays reachable with errors.Is.
func Error(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: String(ue.URL), Err: ue.Err}
}
