package rbac

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

func (c *compiler) compileRoles() {
	if len(c.f.Roles) == 0 {
		c.err(c.f.lineRec, "roles", "at least one role must be declared")
	}
	for i, fr := range c.f.Roles {
		path := fmt.Sprintf("roles[%d]", i)
		if !idRe.MatchString(fr.Name) {
			c.err(fr.lineRec, path+".name", "role name %q must be 1-128 letters, digits, '_', '.', ':' or '-'", fr.Name)
			continue
		}
		if _, dup := c.out.roleIdx[fr.Name]; dup {
			c.err(fr.lineRec, path+".name", "duplicate role %q", fr.Name)
			continue
		}
		r := roleInfo{name: fr.Name, desc: fr.Description}
		for j, pp := range fr.Permissions {
			p := pp.v
			if !permRe.MatchString(p) {
				c.err(pp.lineRec, fmt.Sprintf("%s.permissions[%d]", path, j), "permission %q must be 1-128 letters, digits or _.:/*-", p)
				continue
			}
			pi, ok := c.out.permIdx[p]
			if !ok {
				pi = uint32(len(c.out.perms))
				c.out.permIdx[p] = pi
				c.out.perms = append(c.out.perms, p)
			}
			if slices.Contains(r.perms, pi) {
				c.err(pp.lineRec, fmt.Sprintf("%s.permissions[%d]", path, j), "duplicate permission %q", p)
				continue
			}
			r.perms = append(r.perms, pi)
		}
		slices.Sort(r.perms)
		c.out.roleIdx[fr.Name] = uint32(len(c.out.roles))
		c.out.roles = append(c.out.roles, r)
	}
	c.out.conflicts = make([][]conflict, len(c.out.roles))
}

func (c *compiler) roleRefs(names []pstr, path string) []uint32 {
	var out []uint32
	for i, pn := range names {
		n := pn.v
		ri, ok := c.out.roleIdx[n]
		if !ok {
			c.err(pn.lineRec, fmt.Sprintf("%s[%d]", path, i), "undeclared role %q", n)
			continue
		}
		if slices.Contains(out, ri) {
			c.err(pn.lineRec, fmt.Sprintf("%s[%d]", path, i), "role %q listed twice", n)
			continue
		}
		out = append(out, ri)
	}
	return out
}

func (c *compiler) compileMappings() {
	for i, fm := range c.f.Mappings {
		path := fmt.Sprintf("mappings[%d]", i)
		c.ruleID(fm.ID, fm.lineRec, path)
		m := mappingInfo{id: fm.ID, desc: fm.Description, line: fm.Line}
		m.roles = c.roleRefs(fm.Grant.Roles, path+".grant.roles")
		for j, fa := range fm.Grant.AWS {
			if a, ok := c.awsGrant(fa, fmt.Sprintf("%s.grant.aws[%d]", path, j)); ok {
				a.Mapping = fm.ID
				m.aws = append(m.aws, a)
			}
		}
		for j, pref := range fm.Grant.ADGroups {
			ref := pref.v
			gp := fmt.Sprintf("%s.grant.ad_groups[%d]", path, j)
			gi, ok := c.groupRef(ref)
			if !ok {
				c.err(pref.lineRec, gp, "undeclared group %q (declare it under groups: with the directory's issuer)", ref)
				continue
			}
			g := c.out.groups[gi]
			if c.out.issuerList[g.issuer].groupIDs == groupObjectID {
				c.err(pref.lineRec, gp, "group %q belongs to issuer %q, whose groups are Entra object IDs, not directory groups", ref, c.out.issuerList[g.issuer].name)
				continue
			}
			m.ad = append(m.ad, DirectoryGroup{ID: g.id, Name: g.name, Mapping: fm.ID})
		}
		if len(fm.Grant.Roles) == 0 && len(fm.Grant.AWS) == 0 && len(fm.Grant.ADGroups) == 0 {
			c.err(fm.lineRec, path+".grant", "grant must give at least one of roles, aws or ad_groups")
		}
		idx := int32(len(c.out.mappings))
		c.out.mappings = append(c.out.mappings, m)
		if fm.When == nil {
			c.err(fm.lineRec, path+".when", "when is required: a mapping must say whom it applies to")
			continue
		}
		c.addClauses(fm.When, idx)
	}
}

func (c *compiler) awsGrant(fa fileAWS, path string) (AWSRole, bool) {
	ok := true
	if !roleARNRe.MatchString(fa.RoleARN) {
		c.err(fa.lineRec, path+".role_arn", "malformed IAM role ARN %q (want arn:aws:iam::<12-digit account>:role/<name>)", fa.RoleARN)
		ok = false
	}
	if fa.Duration != 0 && (fa.Duration < 15*time.Minute || fa.Duration > 12*time.Hour) {
		c.err(fa.lineRec, path+".duration", "duration %s is outside what STS allows (15m to 12h)", fa.Duration)
		ok = false
	}
	if len(fa.SessionTags) > 50 {
		c.err(fa.lineRec, path+".session_tags", "at most 50 session tags (got %d)", len(fa.SessionTags))
		ok = false
	}
	seen := map[string]string{}
	for k, v := range fa.SessionTags {
		if k == "" || utf8.RuneCountInString(k) > 128 || !tagRe.MatchString(k) || strings.HasPrefix(strings.ToLower(k), "aws:") {
			c.err(fa.lineRec, path+".session_tags", "invalid session tag key %q", k)
			ok = false
		}
		if utf8.RuneCountInString(v) > 256 || !tagRe.MatchString(v) {
			c.err(fa.lineRec, path+".session_tags."+k, "invalid session tag value %q", v)
			ok = false
		}
		// STS treats tag keys case-insensitively.
		if prev, dup := seen[strings.ToLower(k)]; dup {
			c.err(fa.lineRec, path+".session_tags", "session tag keys %q and %q differ only in case", prev, k)
			ok = false
		}
		seen[strings.ToLower(k)] = k
	}
	if fa.SourceIdentity != "" && !claimNameRe.MatchString(fa.SourceIdentity) {
		c.err(fa.lineRec, path+".source_identity", "source_identity must name a claim, got %q", fa.SourceIdentity)
		ok = false
	}
	var tags map[string]string
	if len(fa.SessionTags) > 0 {
		tags = make(map[string]string, len(fa.SessionTags))
		for k, v := range fa.SessionTags {
			tags[k] = v
		}
	}
	return AWSRole{RoleARN: fa.RoleARN, Duration: fa.Duration, SessionTags: tags, SourceIdentityClaim: fa.SourceIdentity}, ok
}

func (c *compiler) compileDenies() {
	for i, fd := range c.f.Deny {
		path := fmt.Sprintf("deny[%d]", i)
		c.ruleID(fd.ID, fd.lineRec, path)
		class := idbridge.Reason(fd.Reason)
		if class == "" {
			class = reason.Forbidden
		} else if !slices.Contains(reasonClasses, class) {
			c.err(fd.lineRec, path+".reason", "unknown reason class %q (use forbidden, revoked, tenant, ...)", class)
		}
		idx := int32(len(c.out.denies))
		c.out.denies = append(c.out.denies, denyInfo{id: fd.ID, desc: fd.Description, class: class, line: fd.Line})
		if fd.When == nil {
			c.err(fd.lineRec, path+".when", "when is required")
			continue
		}
		c.addClauses(fd.When, -idx-1)
	}
}

func (c *compiler) compileSoD() {
	for i, fs := range c.f.SoD {
		path := fmt.Sprintf("separation_of_duties[%d]", i)
		c.ruleID(fs.ID, fs.lineRec, path)
		roles := c.roleRefs(fs.Roles, path+".roles")
		if len(fs.Roles) < 2 {
			c.err(fs.lineRec, path+".roles", "a separation-of-duties constraint needs at least two roles")
			continue
		}
		si := uint32(len(c.out.sods))
		c.out.sods = append(c.out.sods, sodInfo{id: fs.ID, desc: fs.Description, line: fs.Line, roles: roles})
		for _, a := range roles {
			for _, b := range roles {
				if a != b {
					c.out.conflicts[a] = append(c.out.conflicts[a], conflict{other: b, sod: si})
				}
			}
		}
	}
}
