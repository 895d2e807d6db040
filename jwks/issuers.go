package jwks

// This file holds the trusted issuers: exact issuers and {tenantid}
// templates, the tenant allow-lists and which keys may verify which issuer.

import (
	"fmt"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/safeurl"
)

const tenantPlaceholder = "{tenantid}"

type issuerEntry struct {
	iss      string // exact issuer or template
	pre, suf string // template parts around {tenantid}
	template bool
	keys     KeySet
	tenants  []string
	// recheck is keys when it does not retire keys that leave it (see
	// retiresKeys), so a cache hit asks it again whether the key is there.
	recheck KeySet
	// alias is Issuer.entraPeer: for an issuer built by Entra or EntraAPI,
	// the issuer of the other token version of the same tenant and
	// authorities, whose keys also verify this issuer's tokens. Only this
	// configuration makes issuers of other authorities (sovereign clouds,
	// test servers) equivalent; issuerMatches knows Entra's public ones.
	alias string
}

// keyIssuerOK reports whether a key bound to issuer property p may verify
// the token c of the trusted issuer ie.
func (ie *issuerEntry) keyIssuerOK(p string, c *idbridge.Claims) bool {
	if issuerMatches(p, c.Issuer) {
		return true
	}
	if ie.alias == "" {
		return false
	}
	alias := ie.alias
	if pre, suf, ok := splitTemplate(alias); ok {
		alias = pre + c.TenantID + suf // c.Issuer matched ie's template with this tid
	}
	return segmentMatch(p, alias)
}

// retiresKeys reports whether ks marks every key that leaves it as retired,
// which lets the verified-token cache trust an entry without asking the key
// set again. A StaticKeySet never loses keys.
func retiresKeys(ks KeySet) bool {
	switch ks.(type) {
	case *RemoteKeySet, *StaticKeySet:
		return true
	}
	return false
}

// splitTemplate splits an issuer template around its {tenantid}.
func splitTemplate(s string) (pre, suf string, ok bool) {
	i := strings.Index(s, tenantPlaceholder)
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+len(tenantPlaceholder):], true
}

// trustedList prints the trusted issuers for an issuer rejection, so an
// operator sees at once what the token's iss was compared with: each URL
// without user info or query (safeurl), at most ten.
func trustedList(issuers []Issuer) string {
	const most = 10
	var b strings.Builder
	for i, is := range issuers {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(issuers)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(safeurl.String(is.Issuer))
	}
	return b.String()
}

func lowerAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, strings.ToLower(s))
	}
	return out
}

// issuerFor finds the trusted issuer of c and applies the tenant
// allow-lists. A template issuer matches only when iss equals it with
// {tenantid} replaced by the token's tid.
func (v *Validator) issuerFor(c *idbridge.Claims) (*issuerEntry, error) {
	ie := v.exact[c.Issuer]
	if ie == nil {
		for _, t := range v.templates {
			if len(c.Issuer) == len(t.pre)+len(c.TenantID)+len(t.suf) && c.TenantID != "" &&
				strings.HasPrefix(c.Issuer, t.pre) && strings.HasSuffix(c.Issuer, t.suf) &&
				c.Issuer[len(t.pre):len(t.pre)+len(c.TenantID)] == c.TenantID {
				ie = t
				break
			}
		}
		if ie == nil {
			if c.TenantID == "" && len(v.templates) > 0 {
				for _, t := range v.templates {
					if strings.HasPrefix(c.Issuer, t.pre) && strings.HasSuffix(c.Issuer, t.suf) {
						return nil, fail(ErrMissingClaim, "tid is required for a multi-tenant issuer")
					}
				}
			}
			return nil, fail(ErrIssuer, "iss "+quoteShort(c.Issuer)+" is not trusted; trusted: "+v.trusted)
		}
	}
	if len(ie.tenants) > 0 || len(v.tenants) > 0 {
		if c.TenantID == "" {
			return nil, fail(ErrMissingClaim, "tid is required by the tenant allow-list")
		}
		if len(ie.tenants) > 0 && !containsFold(ie.tenants, c.TenantID) ||
			len(v.tenants) > 0 && !containsFold(v.tenants, c.TenantID) {
			return nil, fail(ErrTenant, "tid "+quoteShort(c.TenantID)+" is not allowed")
		}
	}
	return ie, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
