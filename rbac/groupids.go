package rbac

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// NormalizeGroupID returns the form in which a group ID of the given kind
// ([GroupIDObjectID], [GroupIDDN] or [GroupIDName]) is matched: GUIDs in
// lower case, DNs parsed and printed canonically in lower case (LDAP
// compares them case-insensitively), names unchanged (opaque, so exact).
// Decide applies the same rule to the IDs a token or group source
// carries, so a source need not normalize; it may, to store less. It
// reports false for an ID that is not of that kind.
func NormalizeGroupID(kind, id string) (string, bool) {
	switch kind {
	case groupObjectID:
		if !guidRe.MatchString(id) {
			return "", false
		}
		return strings.ToLower(id), true
	case groupDN:
		if id == "" || len(id) > 1024 {
			return "", false
		}
		return canonicalDN(id)
	case groupName:
		if id == "" || len(id) > 256 || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", false
		}
		return id, true
	}
	return "", false
}

func (c *compiler) compileGroups() {
	for i, fg := range c.f.Groups {
		path := fmt.Sprintf("groups[%d]", i)
		iss := c.issuerRef(fg.Issuer, fg.lineRec, path+".issuer")
		if iss < 0 {
			continue
		}
		kind := c.out.issuerList[iss].groupIDs
		id, ok := NormalizeGroupID(kind, fg.ID)
		if !ok {
			c.err(fg.lineRec, path+".id", "group id %q is not a valid %s for issuer %q", fg.ID, kind, c.out.issuerList[iss].name)
			continue
		}
		name := fg.Name
		if name == "" {
			name = fg.ID
		} else if _, ok := NormalizeGroupID(groupName, name); !ok {
			c.err(fg.lineRec, path+".name", "invalid display name %q", name)
			continue
		}
		gi := len(c.out.groups)
		for _, ref := range []string{id, name} {
			if prev, dup := c.groupByRef[ref]; dup && prev != gi {
				c.err(fg.lineRec, path, "group %q is declared twice (names and IDs must be unique, first as groups[%d])", ref, prev)
				ok = false
			}
		}
		if !ok {
			continue
		}
		c.groupByRef[id] = gi
		c.groupByRef[name] = gi
		c.out.groups = append(c.out.groups, groupInfo{id: id, name: name, issuer: iss})
	}
}

func (c *compiler) groupRef(ref string) (int, bool) {
	if gi, ok := c.groupByRef[ref]; ok {
		return gi, true
	}
	// An ID written in another case or DN spelling still names the group.
	for _, kind := range []string{groupObjectID, groupDN} {
		if id, ok := NormalizeGroupID(kind, ref); ok {
			if gi, ok := c.groupByRef[id]; ok {
				return gi, true
			}
		}
	}
	return -1, false
}
