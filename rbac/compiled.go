package rbac

import "github.com/idbridge/idbridge"

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
	id, desc string
	class    idbridge.Reason
	line     int
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
