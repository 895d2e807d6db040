package rbac

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
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

var reasonClasses = []idbridge.Reason{
	reason.Malformed, reason.TooLarge, reason.Algorithm, reason.UnknownKey, reason.Signature,
	reason.Expired, reason.NotYetValid, reason.IssuedInFuture, reason.Issuer, reason.Audience,
	reason.Type, reason.MissingClaim, reason.Tenant, reason.Revoked, reason.InsufficientScope,
	reason.InsufficientRole, reason.StepUpRequired, reason.Forbidden, reason.IdPUnavailable,
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
		template, gid := c.checkIssuer(fi, path, seenIss)
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
		// A claim that the claim table decodes into the field (scp and
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
	c.checkInstances()
}

// checkIssuer checks the name, issuer and group_ids of an issuer and
// returns whether it is a {tenantid} template and its kind of group ID.
func (c *compiler) checkIssuer(fi fileIssuer, path string, seenIss map[string]bool) (template bool, gid string) {
	if !idRe.MatchString(fi.Name) {
		c.err(fi.lineRec, path+".name", "name %q must be 1-128 letters, digits, '_', '.', ':' or '-'", fi.Name)
	} else if _, dup := c.issuerByName[fi.Name]; dup {
		c.err(fi.lineRec, path+".name", "duplicate issuer name %q", fi.Name)
	}
	template = strings.Contains(fi.Issuer, tenantPlaceholder)
	concrete := strings.Replace(fi.Issuer, tenantPlaceholder, "00000000-0000-0000-0000-000000000000", 1)
	if u, err := url.Parse(concrete); err != nil || u.Scheme == "" || strings.ContainsAny(fi.Issuer, " \t\r\n") {
		c.err(fi.lineRec, path+".issuer", "issuer %q must be an absolute URI, exactly as the iss claim carries it", fi.Issuer)
	} else if strings.Count(fi.Issuer, tenantPlaceholder) > 1 {
		c.err(fi.lineRec, path+".issuer", "issuer %q may hold %s once", fi.Issuer, tenantPlaceholder)
	} else if seenIss[fi.Issuer] {
		c.err(fi.lineRec, path+".issuer", "duplicate issuer %q", fi.Issuer)
	}
	seenIss[fi.Issuer] = true
	gid = orDefault(fi.GroupIDs, groupObjectID)
	if gid != groupObjectID && gid != groupDN && gid != groupName {
		c.err(fi.lineRec, path+".group_ids", "group_ids must be object_id, dn or name (got %q)", fi.GroupIDs)
	}
	return template, gid
}

// checkInstances makes sure a token names one issuer of the policy, never
// two: a fixed issuer may not also be an instance of a template.
func (c *compiler) checkInstances() {
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
func (s *compiled) issuerFor(c *idbridge.Claims) *issuerTable {
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
func (s *compiled) unlistedTenant(c *idbridge.Claims) bool {
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
