package rbac

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/jwks"
)

// Limits that keep a hostile or mistaken policy from exhausting memory.
const (
	maxClausesPerRule = 256 // after expanding any/all into alternatives
	maxAtomsPerClause = 32
	maxCondDepth      = 16
)

// The kinds of group ID an issuer declares with group_ids. Matching is
// always on the normalized ID (see [NormalizeGroupID]).
const (
	// GroupIDObjectID: Entra object IDs (GUIDs), compared
	// case-insensitively.
	GroupIDObjectID = "object_id"
	// GroupIDDN: LDAP/AD distinguished names, compared canonically.
	GroupIDDN = "dn"
	// GroupIDName: opaque names from any other IdP, compared exactly.
	GroupIDName = "name"
)

const (
	groupObjectID = GroupIDObjectID
	groupDN       = GroupIDDN
	groupName     = GroupIDName
)

var (
	idRe         = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	permRe       = regexp.MustCompile(`^[A-Za-z0-9_.:/*-]{1,128}$`)
	claimNameRe  = regexp.MustCompile(`^[A-Za-z0-9_:./-]{1,128}$`)
	tokenValueRe = regexp.MustCompile(`^[\x21-\x7e]{1,256}$`) // scopes, app roles: no spaces
	guidRe       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// IAM role ARN: partition, empty region, 12-digit account, optional path.
	roleARNRe = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-[a-z])?:iam::[0-9]{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	tagRe     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

var reasonClasses = []string{
	reason.Malformed, reason.TooLarge, reason.Algorithm, reason.UnknownKey, reason.Signature,
	reason.Expired, reason.NotYetValid, reason.IssuedInFuture, reason.Issuer, reason.Audience,
	reason.Type, reason.MissingClaim, reason.Tenant, reason.Revoked, reason.InsufficientScope,
	reason.InsufficientRole, reason.StepUpRequired, reason.Forbidden, reason.IdPUnavailable,
}

const noAtom = ^uint32(0)

// compiled is one immutable, loaded policy. Decisions hold a pointer to the
// compiled policy they were made with, so a reload never changes the
// meaning of a decision already handed out.
type compiled struct {
	file    string
	version string // first 12 hex digits of the file's SHA-256

	issuers    map[string]*issuerTable // by iss, fixed issuers only
	templates  []*issuerTable          // issuers with {tenantid}
	issuerList []*issuerTable

	groups    []groupInfo
	roles     []roleInfo
	roleIdx   map[string]uint32
	perms     []string
	permIdx   map[string]uint32
	mappings  []mappingInfo
	mapRoles  [][]uint32 // mappings[i].roles, packed for the hot path
	denies    []denyInfo
	sods      []sodInfo
	conflicts [][]conflict // per role

	atoms      []atomInfo
	anchorOff  []uint32 // CSR offsets into anchorList, len(atoms)+1
	anchorList []uint32 // clause indexes
	clauses    []clauseInfo

	tests []testCase
}

type issuerTable struct {
	idx      int
	name     string
	iss      string
	groupIDs string

	groupsClaim, rolesClaim, scopesClaim string
	stdGroups, stdRoles, stdScopes       bool

	groups  strIndex
	roles   strIndex
	scopes  strIndex
	tenants map[string]uint32
	acrs    map[string]uint32
	mfa     uint32 // atom for "amr contains mfa", or noAtom
	self    uint32 // atom every claims set of this issuer has, or noAtom
	claims  []claimIndex

	// A multi-tenant issuer is written with {tenantid}: iss must be
	// prefix + the token's own tid + suffix, and tid must be in tenantsOK.
	// (Last, so the fields the decision reads keep their cache lines.)
	template       bool
	prefix, suffix string
	tenantsOK      map[string]uint32 // lower-case tenant IDs; values unused

	// v1iss is the same tenant's Entra v1.0 issuer (v1_issuer), decided
	// as this issuer; a template's is split at {tenantid} like iss.
	v1iss              string
	v1prefix, v1suffix string
}

type claimIndex struct {
	name   string
	acc    int // accessor for a typed field, or accCustom
	values map[string]uint32
}

type groupInfo struct {
	id, name string
	issuer   int
}

type roleInfo struct {
	name, desc string
	perms      []uint32 // sorted
}

type conflict struct{ other, sod uint32 }

type mappingInfo struct {
	id, desc string
	line     int
	roles    []uint32
	aws      []AWSRole
	ad       []DirectoryGroup
}

type denyInfo struct {
	id, desc, class string
	line            int
}

type sodInfo struct {
	id, desc string
	line     int
	roles    []uint32
}

type atomInfo struct {
	issuer int
	kind   int
	name   string // claim name
	value  string
	show   string
}

// clauseInfo is one conjunction: all atoms must be present. owner >= 0 is
// a mapping index, owner < 0 the deny rule -owner-1.
type clauseInfo struct {
	owner int32
	atoms []uint32
}

// compiler turns a decoded file into a compiled policy, collecting every
// problem it finds.
type compiler struct {
	d   *decoder
	f   *fileDoc
	out *compiled

	issuerByName map[string]int
	groupByRef   map[string]int // by name and by normalized ID
	ruleIDs      map[string]int // mapping, deny and SoD IDs share one namespace
}

func (c *compiler) err(l lineRec, path, format string, args ...any) {
	if len(c.d.errs) >= maxErrors {
		return
	}
	c.d.errs = append(c.d.errs, &PolicyError{File: c.d.file, Line: l.Line, Column: l.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func at(line, col int) lineRec { return lineRec{Line: line, Column: col} }

func compile(file string, data []byte, f *fileDoc, d *decoder) *compiled {
	sum := sha256.Sum256(data)
	c := &compiler{
		d: d, f: f,
		out: &compiled{
			file: file, version: hex.EncodeToString(sum[:6]),
			issuers: map[string]*issuerTable{}, roleIdx: map[string]uint32{}, permIdx: map[string]uint32{},
		},
		issuerByName: map[string]int{}, groupByRef: map[string]int{}, ruleIDs: map[string]int{},
	}
	if f.Version != 1 {
		c.err(f.lineRec, "version", "version must be 1 (got %d)", f.Version)
	}
	c.compileIssuers()
	c.compileGroups()
	c.compileRoles()
	c.compileMappings()
	c.compileDenies()
	c.compileSoD()
	c.buildIndex()
	c.out.mapRoles = make([][]uint32, len(c.out.mappings))
	for i, m := range c.out.mappings {
		c.out.mapRoles[i] = m.roles
	}
	c.compileTests()
	return c.out
}

func (c *compiler) ruleID(id string, l lineRec, path string) bool {
	if !idRe.MatchString(id) {
		c.err(l, path+".id", "id %q must be 1-128 letters, digits, '_', '.', ':' or '-'", id)
		return false
	}
	if line, dup := c.ruleIDs[id]; dup {
		c.err(l, path+".id", "duplicate id %q (first at line %d); mapping, deny and separation_of_duties ids share one namespace", id, line)
		return false
	}
	c.ruleIDs[id] = l.Line
	return true
}

func (c *compiler) compileIssuers() {
	if len(c.f.Issuers) == 0 {
		c.err(c.f.lineRec, "issuers", "at least one issuer must be declared")
	}
	seenIss := map[string]bool{}
	for i, fi := range c.f.Issuers {
		path := fmt.Sprintf("issuers[%d]", i)
		if !idRe.MatchString(fi.Name) {
			c.err(fi.lineRec, path+".name", "name %q must be 1-128 letters, digits, '_', '.', ':' or '-'", fi.Name)
		} else if _, dup := c.issuerByName[fi.Name]; dup {
			c.err(fi.lineRec, path+".name", "duplicate issuer name %q", fi.Name)
		}
		template := strings.Contains(fi.Issuer, tenantPlaceholder)
		concrete := strings.Replace(fi.Issuer, tenantPlaceholder, "00000000-0000-0000-0000-000000000000", 1)
		if u, err := url.Parse(concrete); err != nil || u.Scheme == "" || strings.ContainsAny(fi.Issuer, " \t\r\n") {
			c.err(fi.lineRec, path+".issuer", "issuer %q must be an absolute URI, exactly as the iss claim carries it", fi.Issuer)
		} else if strings.Count(fi.Issuer, tenantPlaceholder) > 1 {
			c.err(fi.lineRec, path+".issuer", "issuer %q may hold %s once", fi.Issuer, tenantPlaceholder)
		} else if seenIss[fi.Issuer] {
			c.err(fi.lineRec, path+".issuer", "duplicate issuer %q", fi.Issuer)
		}
		seenIss[fi.Issuer] = true
		gid := fi.GroupIDs
		if gid == "" {
			gid = groupObjectID
		}
		if gid != groupObjectID && gid != groupDN && gid != groupName {
			c.err(fi.lineRec, path+".group_ids", "group_ids must be object_id, dn or name (got %q)", fi.GroupIDs)
		}
		t := &issuerTable{
			idx: len(c.out.issuerList), name: fi.Name, iss: fi.Issuer, groupIDs: gid,
			groupsClaim: orDefault(fi.Claims.Groups, "groups"),
			rolesClaim:  orDefault(fi.Claims.Roles, "roles"),
			scopesClaim: orDefault(fi.Claims.Scopes, "scp"),
			groups:      newStrIndex(), roles: newStrIndex(), scopes: newStrIndex(),
			tenants: map[string]uint32{}, acrs: map[string]uint32{}, mfa: noAtom, self: noAtom,
		}
		for _, cl := range []struct{ name, field string }{{t.groupsClaim, "groups"}, {t.rolesClaim, "roles"}, {t.scopesClaim, "scopes"}} {
			if !claimNameRe.MatchString(cl.name) {
				c.err(fi.Claims.lineRec, path+".claims."+cl.field, "invalid claim name %q", cl.name)
			}
		}
		// A claim that jwks's claim table decodes into the field (scp and
		// scope both into Scopes) is read from the field.
		t.stdGroups, t.stdRoles, t.stdScopes = fills(t.groupsClaim, "Groups"), fills(t.rolesClaim, "Roles"), fills(t.scopesClaim, "Scopes")
		c.tenantList(t, fi, path, template)
		if fi.V1Issuer != "" && c.v1Issuer(t, fi, path, template) {
			if seenIss[fi.V1Issuer] {
				c.err(fi.lineRec, path+".v1_issuer", "duplicate issuer %q", fi.V1Issuer)
			}
			seenIss[fi.V1Issuer] = true
			if !template {
				c.out.issuers[fi.V1Issuer] = t
			}
		}
		c.issuerByName[fi.Name] = t.idx
		if template {
			c.out.templates = append(c.out.templates, t)
		} else {
			c.out.issuers[fi.Issuer] = t
		}
		c.out.issuerList = append(c.out.issuerList, t)
	}
	// A token must name one issuer of the policy, never two: a fixed
	// issuer may not also be an instance of a template.
	for _, t := range c.out.templates {
		for tid := range t.tenantsOK {
			insts := []string{t.prefix + tid + t.suffix}
			if t.v1iss != "" {
				insts = append(insts, t.v1prefix+tid+t.v1suffix)
			}
			for _, inst := range insts {
				if o, dup := c.out.issuers[inst]; dup {
					fi := c.f.Issuers[o.idx]
					c.err(fi.lineRec, fmt.Sprintf("issuers[%d].issuer", o.idx), "issuer %q is also issuer %q for tenant %s; declare it once", inst, t.iss, tid)
				}
			}
		}
	}
}

// tenantPlaceholder stands for the token's tid in a multi-tenant issuer,
// as Entra's common and organizations metadata write it.
const tenantPlaceholder = "{tenantid}"

// tenantList compiles the tenant allow-list of a {tenantid} issuer.
func (c *compiler) tenantList(t *issuerTable, fi fileIssuer, path string, template bool) {
	if !template {
		if len(fi.Tenants) > 0 {
			c.err(fi.lineRec, path+".tenants", "tenants applies to an issuer written with %s; this issuer names its tenant already", tenantPlaceholder)
		}
		return
	}
	t.template = true
	t.prefix, t.suffix, _ = strings.Cut(fi.Issuer, tenantPlaceholder)
	t.tenantsOK = map[string]uint32{}
	if len(fi.Tenants) == 0 {
		// Any Entra tenant can sign its users in to a multi-tenant app and
		// assign them its app roles; trusting all of them is never implied.
		c.err(fi.lineRec, path+".tenants", "an issuer with %s needs tenants: the tenant IDs (GUIDs) whose tokens it trusts", tenantPlaceholder)
	}
	for j, pt := range fi.Tenants {
		if !guidRe.MatchString(pt.v) {
			c.err(pt.lineRec, fmt.Sprintf("%s.tenants[%d]", path, j), "tenant %q must be a tenant ID (GUID)", pt.v)
			continue
		}
		tid := strings.ToLower(pt.v)
		if _, dup := t.tenantsOK[tid]; dup {
			c.err(pt.lineRec, fmt.Sprintf("%s.tenants[%d]", path, j), "tenant %s listed twice", pt.v)
		}
		t.tenantsOK[tid] = 0
	}
}

// issuerFor finds the issuer of a claims set: a fixed issuer by iss, or a
// {tenantid} issuer whose template, filled with the token's tid, is
// exactly iss, and whose allow-list holds tid. It does not allocate.
func (s *compiled) issuerFor(c *jwks.Claims) *issuerTable {
	if t := s.issuers[c.Issuer]; t != nil {
		return t
	}
	for _, t := range s.templates {
		if t.instance(c.Issuer, c.TenantID) {
			return t
		}
	}
	return nil
}

// instance reports whether iss is this template filled with tid, and tid
// is an allowed tenant.
func (t *issuerTable) instance(iss, tid string) bool {
	if !t.fills(iss, tid) {
		return false
	}
	if _, ok := t.tenantsOK[tid]; ok {
		return true
	}
	_, ok := lookupLower(t.tenantsOK, tid)
	return ok
}

// fills reports whether iss is this template filled with tid, a GUID that
// must appear in iss exactly as the token carries it (the allow-list then
// compares GUIDs case-insensitively).
func (t *issuerTable) fills(iss, tid string) bool {
	return fillsTemplate(iss, tid, t.prefix, t.suffix) || (t.v1iss != "" && fillsTemplate(iss, tid, t.v1prefix, t.v1suffix))
}

func fillsTemplate(iss, tid, prefix, suffix string) bool {
	const n = 36 // a GUID
	return len(tid) == n && len(iss) == len(prefix)+n+len(suffix) &&
		iss[:len(prefix)] == prefix && iss[len(prefix)+n:] == suffix && iss[len(prefix):len(prefix)+n] == tid
}

// unlistedTenant reports whether c comes from a {tenantid} issuer of the
// policy, from a tenant that issuer does not list: a denial of class
// "tenant" rather than "issuer".
func (s *compiled) unlistedTenant(c *jwks.Claims) bool {
	for _, t := range s.templates {
		if t.fills(c.Issuer, c.TenantID) {
			return true
		}
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

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

// issuerRef resolves an issuer name; "" means the only issuer, if there is
// exactly one.
func (c *compiler) issuerRef(name string, l lineRec, path string) int {
	if name == "" {
		if len(c.out.issuerList) == 1 {
			return 0
		}
		c.err(l, path, "issuer is required when the policy declares several issuers")
		return -1
	}
	i, ok := c.issuerByName[name]
	if !ok {
		c.err(l, path, "undeclared issuer %q", name)
		return -1
	}
	return i
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
		class := fd.Reason
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

// dnf expands a condition into alternatives of leaf conjunctions.
func (c *compiler) dnf(w *cond, depth int) ([][]leaf, bool) {
	if depth > maxCondDepth {
		c.err(w.lineRec, w.path, "conditions nested deeper than %d", maxCondDepth)
		return nil, false
	}
	out := [][]leaf{slices.Clone(w.leaves)}
	product := func(alts [][]leaf) bool {
		if len(out)*len(alts) > maxClausesPerRule {
			c.err(w.lineRec, w.path, "condition expands to more than %d alternatives; split it into several mappings", maxClausesPerRule)
			return false
		}
		next := make([][]leaf, 0, len(out)*len(alts))
		for _, a := range out {
			for _, b := range alts {
				next = append(next, append(slices.Clone(a), b...))
			}
		}
		out = next
		return true
	}
	for _, sub := range w.all {
		alts, ok := c.dnf(sub, depth+1)
		if !ok || !product(alts) {
			return nil, false
		}
	}
	if len(w.any) > 0 {
		var alts [][]leaf
		for _, sub := range w.any {
			a, ok := c.dnf(sub, depth+1)
			if !ok {
				return nil, false
			}
			alts = append(alts, a...)
		}
		if !product(alts) {
			return nil, false
		}
	}
	return out, true
}

// addClauses compiles a rule's condition into clauses owned by owner.
func (c *compiler) addClauses(w *cond, owner int32) {
	alts, ok := c.dnf(w, 0)
	if !ok {
		return
	}
	for _, ls := range alts {
		c.addClause(w, ls, owner)
	}
}

func (c *compiler) addClause(w *cond, ls []leaf, owner int32) {
	if len(ls) == 0 {
		c.err(w.lineRec, w.path, "condition has an alternative with no test")
		return
	}
	// Every clause belongs to exactly one issuer: the one named, or the one
	// its groups belong to, or the only one.
	iss, issLeaf := -1, leaf{}
	bind := func(i int, l leaf) bool {
		if iss >= 0 && iss != i {
			c.err(at(l.line, l.col), l.path, "this alternative needs both issuer %q (%s) and issuer %q (%s); a token has one issuer",
				c.out.issuerList[iss].name, issLeaf.path, c.out.issuerList[i].name, l.path)
			return false
		}
		iss, issLeaf = i, l
		return true
	}
	ok := true
	for _, l := range ls {
		switch l.kind {
		case leafIssuer:
			i := c.issuerRef(l.value, at(l.line, l.col), l.path)
			if i < 0 || !bind(i, l) {
				ok = false
			}
		case leafGroup:
			gi, found := c.groupRef(l.value)
			if !found {
				c.err(at(l.line, l.col), l.path, "undeclared group %q (declare it under groups: with its ID)", l.value)
				ok = false
				continue
			}
			if !bind(c.out.groups[gi].issuer, l) {
				ok = false
			}
		}
	}
	if !ok {
		return
	}
	if iss < 0 {
		if len(c.out.issuerList) != 1 {
			c.err(w.lineRec, w.path, "say which issuer this applies to (issuer: or a group of that issuer); the policy declares several")
			return
		}
		iss = 0
	}
	t := c.out.issuerList[iss]
	var atoms []uint32
	for _, l := range ls {
		a := noAtom
		switch l.kind {
		case leafIssuer:
			continue
		case leafGroup:
			gi, _ := c.groupRef(l.value)
			g := c.out.groups[gi]
			a = c.atom(t, leafGroup, "", g.id, "group "+g.name, t.groups.m)
		case leafAppRole:
			if !tokenValueRe.MatchString(l.value) {
				c.err(at(l.line, l.col), l.path, "app role %q must be 1-256 printable characters without spaces", l.value)
				continue
			}
			a = c.atom(t, leafAppRole, "", l.value, "app_role "+l.value, t.roles.m)
		case leafScope:
			if !tokenValueRe.MatchString(l.value) {
				c.err(at(l.line, l.col), l.path, "scope %q must be 1-256 printable characters without spaces", l.value)
				continue
			}
			a = c.atom(t, leafScope, "", l.value, "scope "+l.value, t.scopes.m)
		case leafTenant:
			if !guidRe.MatchString(l.value) {
				c.err(at(l.line, l.col), l.path, "tenant %q must be a tenant ID (GUID)", l.value)
				continue
			}
			a = c.atom(t, leafTenant, "", strings.ToLower(l.value), "tenant "+l.value, t.tenants)
		case leafACR:
			if !tokenValueRe.MatchString(l.value) {
				c.err(at(l.line, l.col), l.path, "acr %q must be 1-256 printable characters without spaces", l.value)
				continue
			}
			a = c.atom(t, leafACR, "", l.value, "acr "+l.value, t.acrs)
		case leafMFA:
			if t.mfa == noAtom {
				t.mfa = c.newAtom(t, leafMFA, "", "mfa", "mfa")
			}
			a = t.mfa
		case leafClaim:
			if !claimNameRe.MatchString(l.name) {
				c.err(at(l.line, l.col), l.path+".name", "claim name %q must be 1-128 letters, digits or _:./-", l.name)
				continue
			}
			if l.name == t.groupsClaim || l.name == t.rolesClaim || l.name == t.scopesClaim {
				c.err(at(l.line, l.col), l.path+".name", "use group:, app_role: or scope: to test the %q claim", l.name)
				continue
			}
			if l.value == "" {
				c.err(at(l.line, l.col), l.path+".equals", "equals must be a non-empty string")
				continue
			}
			a = c.claimAtom(t, l.name, l.value)
		}
		if a != noAtom && !slices.Contains(atoms, a) {
			atoms = append(atoms, a)
		}
	}
	if len(atoms) == 0 {
		// Only issuer: everyone this issuer vouches for.
		if t.self == noAtom {
			t.self = c.newAtom(t, leafIssuer, "", t.iss, "issuer "+t.name)
		}
		atoms = append(atoms, t.self)
	}
	if len(atoms) > maxAtomsPerClause {
		c.err(w.lineRec, w.path, "more than %d tests in one alternative", maxAtomsPerClause)
		return
	}
	slices.Sort(atoms)
	c.out.clauses = append(c.out.clauses, clauseInfo{owner: owner, atoms: atoms})
}

func (c *compiler) atom(t *issuerTable, kind int, name, value, show string, m map[string]uint32) uint32 {
	if a, ok := m[value]; ok {
		return a
	}
	a := c.newAtom(t, kind, name, value, show)
	m[value] = a
	return a
}

func (c *compiler) newAtom(t *issuerTable, kind int, name, value, show string) uint32 {
	a := uint32(len(c.out.atoms))
	c.out.atoms = append(c.out.atoms, atomInfo{issuer: t.idx, kind: kind, name: name, value: value, show: show})
	return a
}

func (c *compiler) claimAtom(t *issuerTable, name, value string) uint32 {
	var ci *claimIndex
	for i := range t.claims {
		if t.claims[i].name == name {
			ci = &t.claims[i]
		}
	}
	if ci == nil {
		t.claims = append(t.claims, claimIndex{name: name, acc: accessorFor(name), values: map[string]uint32{}})
		ci = &t.claims[len(t.claims)-1]
	}
	return c.atom(t, leafClaim, name, value, fmt.Sprintf("claim %s=%q", name, value), ci.values)
}

// buildIndex picks one anchor atom per clause, the one that fewest clauses
// use, and indexes clauses by it. A decision then only looks at clauses
// anchored on atoms the claims actually carry, so its cost follows the
// token, not the size of the policy. Atoms many tokens carry (mfa, acr,
// tenant, issuer, scopes) are avoided as anchors when a clause has others.
func (c *compiler) buildIndex() {
	for _, t := range c.out.issuerList {
		t.groups.seal()
		t.roles.seal()
		t.scopes.seal()
	}
	n := len(c.out.atoms)
	freq := make([]int, n)
	for _, cl := range c.out.clauses {
		for _, a := range cl.atoms {
			freq[a]++
		}
	}
	// Scopes come second (a clause reached through its group can then
	// tell "insufficient scope"), and mfa/acr/tenant/issuer last.
	cost := func(a uint32) int {
		switch c.out.atoms[a].kind {
		case leafScope:
			return freq[a] + 1<<28
		case leafMFA, leafACR, leafTenant, leafIssuer:
			return freq[a] + 1<<30
		}
		return freq[a]
	}
	anchor := make([]uint32, len(c.out.clauses))
	counts := make([]uint32, n+1)
	for i, cl := range c.out.clauses {
		best := cl.atoms[0]
		for _, a := range cl.atoms[1:] {
			if cost(a) < cost(best) {
				best = a
			}
		}
		anchor[i] = best
		counts[best+1]++
	}
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	c.out.anchorOff = slices.Clone(counts)
	c.out.anchorList = make([]uint32, len(c.out.clauses))
	fill := slices.Clone(counts[:n])
	for i := range c.out.clauses {
		a := anchor[i]
		c.out.anchorList[fill[a]] = uint32(i)
		fill[a]++
	}
	// Keep per-anchor clause lists in policy order, so explanations and
	// the first matching deny rule are deterministic.
	for a := 0; a < n; a++ {
		seg := c.out.anchorList[c.out.anchorOff[a]:c.out.anchorOff[a+1]]
		sort.Slice(seg, func(i, j int) bool { return seg[i] < seg[j] })
	}
}
