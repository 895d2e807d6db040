package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
)

// maxMembers bounds the users [Directory.Members] lists; a larger group is
// refused (wrapping ErrUnavailable) rather than listed in part.
const maxMembers = 100000

// Exists reports whether the directory has an entry at dn, for checks that
// the groups a policy declares are real.
func (d *Directory) Exists(ctx context.Context, dn string) (bool, error) {
	if _, err := goldap.ParseDN(dn); err != nil {
		return false, fmt.Errorf("%w: malformed DN: %w", ErrNoGroup, err)
	}
	var found bool
	err := d.withConn(ctx, func(conn *goldap.Conn) error {
		req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, int(d.opts.Timeout/time.Second), false, "(objectClass=*)", []string{"1.1"}, nil)
		res, err := conn.Search(req)
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return nil
		}
		if err != nil {
			return err
		}
		found = len(res.Entries) == 1
		return nil
	})
	if err != nil {
		return false, d.wrap(err)
	}
	return found, nil
}

// groupClasses are the objectClass values of group entries.
var groupClasses = []string{"group", "groupofnames", "groupofuniquenames"}

// Members lists the DNs (normalized as rbac.NormalizeGroupID does) of the
// entries that are members of the group at groupDN, directly or through
// nested groups (up to Options.MaxDepth), groups themselves left out: the
// users who hold the group. A groupDN that names no entry, or one that is
// not a group, is an error ([ErrNoGroup]); a group with more than
// 100,000 users is ErrUnavailable.
func (d *Directory) Members(ctx context.Context, groupDN string) ([]string, error) {
	if _, err := goldap.ParseDN(groupDN); err != nil {
		return nil, fmt.Errorf("%w: malformed DN: %w", ErrNoGroup, err)
	}
	var out []string
	var bad error // not returned from the callback, which would retry it as a broken connection
	err := d.withConn(ctx, func(conn *goldap.Conn) error {
		seen := map[string]bool{}
		frontier := []string{groupDN}
		for depth := 0; depth <= d.opts.MaxDepth && len(frontier) > 0; depth++ {
			var next []string
			for _, g := range frontier {
				req := goldap.NewSearchRequest(g, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, int(d.opts.Timeout/time.Second), false,
					"(objectClass=*)", []string{"objectClass", "member", "uniqueMember"}, nil)
				res, err := conn.Search(req)
				if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
					if depth == 0 {
						bad = fmt.Errorf("%w: no entry at %s", ErrNoGroup, groupDN)
						return nil
					}
					continue // a dangling member reference
				}
				if err != nil {
					return err
				}
				for _, e := range res.Entries {
					isGroup := slices.ContainsFunc(e.GetAttributeValues("objectClass"), func(c string) bool {
						return slices.Contains(groupClasses, strings.ToLower(c))
					})
					if !isGroup {
						if depth == 0 {
							bad = fmt.Errorf("%w: %s is not a group", ErrNoGroup, groupDN)
							return nil
						}
						n := normDN(e.DN)
						if !seen[n] {
							seen[n] = true
							out = append(out, n)
						}
						continue
					}
					for _, m := range append(e.GetAttributeValues("member"), e.GetAttributeValues("uniqueMember")...) {
						n := normDN(m)
						if !seen["g:"+n] {
							seen["g:"+n] = true
							next = append(next, m)
						}
					}
				}
				if len(out) > maxMembers {
					bad = fmt.Errorf("%w: %s has more than %d members", ErrUnavailable, groupDN, maxMembers)
					return nil
				}
			}
			frontier = next
		}
		return nil
	})
	if err != nil {
		return nil, d.wrap(err)
	}
	if bad != nil {
		return nil, bad
	}
	slices.Sort(out)
	return out, nil
}

// ErrNoGroup (class missing_claim): the DN given to [Directory.Members]
// names no group, or a DN given to Members or [Directory.Exists] is
// malformed.
var ErrNoGroup = reason.New(reason.MissingClaim, "ldap: no such group")

func normDN(s string) string {
	if n, ok := rbac.NormalizeGroupID(rbac.GroupIDDN, s); ok {
		return n
	}
	return strings.ToLower(s)
}
