package ldap

import (
	"strings"

	"github.com/idbridge/idbridge"
)

// maxSubjects bounds the subjects remembered per cached account: one user
// seen through a few issuers (the directory's own claims, an Entra token).
// Past it a new subject is served from the cache but not remembered.
const maxSubjects = 8

// ForgetMatching drops the cached groups (see Options.GroupsTTL) of every
// account that was looked up for claims match accepts, and returns how
// many it dropped. It is [Directory.Forget] for an event that names a
// subject and carries no claims, such as a revocation list's entry, on
// every replica:
//
//	o.OnRevoke = func(e revocation.Entry) { dir.ForgetMatching(e.Matches) }
//
// match sees, for each subject an account was looked up for, only its
// Issuer, Subject, TenantID and ObjectID, and must not keep or modify
// them. It runs with the cache's lock held, once per remembered subject.
func (d *Directory) ForgetMatching(match func(*idbridge.Claims) bool) int {
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	n := 0
	for k, e := range d.cache {
		for _, c := range e.who {
			if match(c) {
				delete(d.cache, k)
				n++
				break
			}
		}
	}
	return n
}

// remember returns who with the subject of c (iss, sub, tid, oid) added
// when it is new and there is room. It copies the slice, never appending
// in place to one a reader may hold, and the strings, so that the cache
// does not keep a token's payload alive.
func remember(who []*idbridge.Claims, c *idbridge.Claims) ([]*idbridge.Claims, bool) {
	if c == nil || len(who) >= maxSubjects {
		return who, false
	}
	for _, w := range who {
		if w.Issuer == c.Issuer && w.Subject == c.Subject && w.TenantID == c.TenantID && w.ObjectID == c.ObjectID {
			return who, false
		}
	}
	s := &idbridge.Claims{
		Issuer: strings.Clone(c.Issuer), Subject: strings.Clone(c.Subject),
		TenantID: strings.Clone(c.TenantID), ObjectID: strings.Clone(c.ObjectID),
	}
	return append(who[:len(who):len(who)], s), true
}
