package ldap

import (
	"fmt"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/rbac"
)

// errTooManyGroups stops a membership expansion that would not fit a
// decision; the decision then fails closed.
var errTooManyGroups = fmt.Errorf("more than %d groups", maxGroups)

// inChainTerm is the GroupFilter term InChain rewrites.
const inChainTerm = "(member={dn})"

// user is a found directory user.
type user struct {
	dn       string
	username string // the UsernameAttribute value, as the directory holds it
	name     string
	email    string
	disabled bool
}

// findUser searches one user by name; more than one match is treated as
// none, so an ambiguous filter can never pick a random account, and so is
// an entry without a UsernameAttribute value, which could not be named.
func (d *Directory) findUser(conn *goldap.Conn, username string) (*user, error) {
	filter := strings.ReplaceAll(d.opts.UserFilter, "{username}", goldap.EscapeFilter(username))
	u, err := d.searchUser(conn, d.opts.UserBaseDN, goldap.ScopeWholeSubtree, filter)
	if u != nil && u.username == "" {
		return nil, err
	}
	return u, err
}

func (d *Directory) readUser(conn *goldap.Conn, dn string) (*user, error) {
	return d.searchUser(conn, dn, goldap.ScopeBaseObject, "(objectClass=*)")
}

func (d *Directory) searchUser(conn *goldap.Conn, base string, scope int, filter string) (*user, error) {
	attrs := append([]string{"cn", "displayName", "mail", d.opts.UsernameAttribute}, disabledAttrs...)
	req := goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 2, int(d.opts.Timeout/time.Second), false, filter, attrs, nil)
	res, err := conn.Search(req)
	if err != nil {
		if goldap.IsErrorAnyOf(err, goldap.LDAPResultNoSuchObject) {
			return nil, nil
		}
		if goldap.IsErrorAnyOf(err, goldap.LDAPResultSizeLimitExceeded) {
			return nil, nil
		}
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, nil
	}
	e := res.Entries[0]
	m := map[string][]string{}
	for _, a := range e.Attributes {
		m[strings.ToLower(a.Name)] = a.Values
	}
	u := &user{dn: e.DN, username: directoryName(e, d.opts.UsernameAttribute), email: e.GetAttributeValue("mail"), disabled: d.opts.Disabled(m)}
	u.name = e.GetAttributeValue("displayName")
	if u.name == "" {
		u.name = e.GetAttributeValue("cn")
	}
	return u, nil
}

// groupsOf returns the IDs of every group dn belongs to, transitively.
func (d *Directory) groupsOf(conn *goldap.Conn, dn string) ([]string, error) {
	attrs := []string{"1.1"} // no attributes: the DN is enough
	if d.opts.GroupIDAttribute != "" {
		attrs = []string{d.opts.GroupIDAttribute}
	}
	var out []string
	seen := map[string]bool{}
	norm := func(s string) string {
		n, ok := rbac.NormalizeGroupID(rbac.GroupIDDN, s)
		if !ok {
			return strings.ToLower(s)
		}
		return n
	}
	seen[norm(dn)] = true
	add := func(e *goldap.Entry) (string, bool) {
		key := norm(e.DN)
		if seen[key] {
			return "", false
		}
		seen[key] = true
		id := key
		if d.opts.GroupIDAttribute != "" {
			id = e.GetAttributeValue(d.opts.GroupIDAttribute)
		}
		if id != "" {
			out = append(out, id)
		}
		return e.DN, true
	}
	search := func(filter string) ([]*goldap.Entry, error) {
		req := goldap.NewSearchRequest(d.opts.GroupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, int(d.opts.Timeout/time.Second), false, filter, attrs, nil)
		res, err := conn.SearchWithPaging(req, 500)
		if err != nil {
			return nil, err
		}
		return res.Entries, nil
	}
	if d.opts.InChain {
		f := strings.ReplaceAll(d.opts.GroupFilter, inChainTerm, "(member:1.2.840.113556.1.4.1941:={dn})")
		entries, err := search(strings.ReplaceAll(f, "{dn}", goldap.EscapeFilter(dn)))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			add(e)
		}
		if len(out) > maxGroups {
			return nil, errTooManyGroups
		}
		return out, nil
	}
	frontier := []string{dn}
	for depth := 0; depth < d.opts.MaxDepth && len(frontier) > 0; depth++ {
		var next []string
		for i := 0; i < len(frontier); i += 50 {
			batch := frontier[i:min(i+50, len(frontier))]
			var f strings.Builder
			f.WriteString("(|")
			for _, m := range batch {
				f.WriteString(strings.ReplaceAll(d.opts.GroupFilter, "{dn}", goldap.EscapeFilter(m)))
			}
			f.WriteString(")")
			entries, err := search(f.String())
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if g, ok := add(e); ok {
					next = append(next, g)
				}
			}
			if len(out) > maxGroups {
				return nil, errTooManyGroups
			}
		}
		frontier = next
	}
	return out, nil
}
