package rbac

import (
	"strings"

	"github.com/idbridge/idbridge/jwks"
)

// An API that moves from Entra v1.0 to v2.0 access tokens (or keeps both
// while its clients move) receives two iss values for one tenant:
// https://sts.windows.net/{tid}/ and
// https://login.microsoftonline.com/{tid}/v2.0. Both carry the same
// group object IDs, app roles and scopes, so the v2.0 issuer's v1_issuer
// names the other, and one set of groups and rules serves both.

// Entra's public-cloud issuers of the two token versions, around the
// tenant.
const (
	entraV2Prefix, entraV2Suffix = jwks.EntraAuthority + "/", "/v2.0"
	entraV1Prefix, entraV1Suffix = jwks.EntraV1Authority + "/", "/"
)

// entraTenant returns the tenant segment of an Entra issuer of the form
// prefix + tenant + suffix: a tenant ID or {tenantid}.
func entraTenant(iss, prefix, suffix string) (string, bool) {
	t, ok := strings.CutPrefix(iss, prefix)
	if !ok {
		return "", false
	}
	t, ok = strings.CutSuffix(t, suffix)
	if !ok || (t != tenantPlaceholder && !guidRe.MatchString(t)) {
		return "", false
	}
	return t, true
}

// v1Issuer checks an issuer's v1_issuer and records it on t: it must be
// Entra's v1.0 issuer of the very tenant (or {tenantid}) of t's v2.0
// issuer, written as the tokens carry it.
func (c *compiler) v1Issuer(t *issuerTable, fi fileIssuer, path string, template bool) bool {
	path += ".v1_issuer"
	v2tenant, ok := entraTenant(fi.Issuer, entraV2Prefix, entraV2Suffix)
	if !ok {
		c.err(fi.lineRec, path, "v1_issuer pairs an Entra v2.0 issuer (%s{tenant}%s) with the same tenant's v1.0 issuer; issuer %q is not one", entraV2Prefix, entraV2Suffix, fi.Issuer)
		return false
	}
	v1tenant, ok := entraTenant(fi.V1Issuer, entraV1Prefix, entraV1Suffix)
	if !ok {
		c.err(fi.lineRec, path, "v1_issuer %q must be Entra's v1.0 issuer %s%s%s, as v1.0 tokens carry it", fi.V1Issuer, entraV1Prefix, v2tenant, entraV1Suffix)
		return false
	}
	if v1tenant != v2tenant {
		c.err(fi.lineRec, path, "v1_issuer %q names tenant %s but issuer %q names tenant %s: both must be the same tenant's, written alike (want %s%s%s)",
			fi.V1Issuer, v1tenant, fi.Issuer, v2tenant, entraV1Prefix, v2tenant, entraV1Suffix)
		return false
	}
	t.v1iss = fi.V1Issuer
	if template {
		t.v1prefix, t.v1suffix = entraV1Prefix, entraV1Suffix
	}
	return true
}
