package jwks

import (
	"context"
	"strings"
)

// keyIndex is an immutable snapshot of a key set's keys.
type keyIndex struct {
	byKID map[string][]*Key
	all   []*Key
}

func newKeyIndex(keys []*Key) *keyIndex {
	ix := &keyIndex{byKID: make(map[string][]*Key, len(keys)), all: keys}
	for _, k := range keys {
		ix.byKID[k.ID] = append(ix.byKID[k.ID], k)
	}
	return ix
}

// find returns the key for kid usable by issuer iss. found reports whether
// any key has that kid, so callers can tell "unknown kid" (worth a refresh)
// from "kid known but bound to another issuer" (not worth one).
func (ix *keyIndex) find(kid, iss string) (k *Key, found bool) {
	if ix == nil {
		return nil, false
	}
	if kid == "" {
		// A token without kid is only accepted from a set with one key.
		if len(ix.all) == 1 {
			k = ix.all[0]
			return k, true
		}
		return nil, false
	}
	cands := ix.byKID[kid]
	for _, k := range cands {
		if k.Issuer == "" || issuerMatches(k.Issuer, iss) {
			return k, true
		}
	}
	if len(cands) > 0 {
		return cands[0], true
	}
	return nil, false
}

// issuerMatches compares a key's issuer property with the token's iss, as
// whole URLs. The property may be an Entra template with {tenantid}, which
// matches one path segment (the validator has already checked that segment
// is the tid).
//
// Entra publishes one key set, whose keys name the v2.0 issuer, for v2.0
// and v1.0 tokens alike; so a key bound to
// https://login.microsoftonline.com/{tenant}/v2.0 also matches the v1.0 iss
// https://sts.windows.net/{tenant}/ of the same tenant, and the other way
// round. Other authorities are equivalent only when the validator's
// configuration says so (see issuerEntry.alias); nothing else is.
func issuerMatches(pattern, iss string) bool {
	return segmentMatch(pattern, iss) || segmentMatch(pattern, entraCounterpart(iss))
}

// Entra's own authorities for the v1.0/v2.0 equivalence.
const (
	entraV2Prefix, entraV2Suffix = EntraAuthority + "/", "/v2.0"
	entraV1Prefix, entraV1Suffix = EntraV1Authority + "/", "/"
)

// entraCounterpart returns the issuer of the other token version of the
// same Entra tenant — https://login.microsoftonline.com/{t}/v2.0 for
// https://sts.windows.net/{t}/ and back — or "" when iss is neither.
func entraCounterpart(iss string) string {
	if t, ok := tenantSegment(iss, entraV1Prefix, entraV1Suffix); ok {
		return entraV2Prefix + t + entraV2Suffix
	}
	if t, ok := tenantSegment(iss, entraV2Prefix, entraV2Suffix); ok {
		return entraV1Prefix + t + entraV1Suffix
	}
	return ""
}

// tenantSegment returns the part of iss between pre and suf when it is one
// non-empty path segment.
func tenantSegment(iss, pre, suf string) (string, bool) {
	if len(iss) <= len(pre)+len(suf) || !strings.HasPrefix(iss, pre) || !strings.HasSuffix(iss, suf) {
		return "", false
	}
	t := iss[len(pre) : len(iss)-len(suf)]
	return t, !strings.Contains(t, "/")
}

// segmentMatch compares an issuer, or a template whose {tenantid} stands
// for one non-empty path segment, with iss.
func segmentMatch(pattern, iss string) bool {
	pre, suf, ok := splitTemplate(pattern)
	if !ok {
		return pattern == iss && iss != ""
	}
	_, ok = tenantSegment(iss, pre, suf)
	return ok
}

// StaticKeySet is a fixed set of keys, for tests and for deployments that
// pin keys. It is safe for concurrent use.
type StaticKeySet struct {
	ix *keyIndex
}

// NewStaticKeySet returns a key set holding keys (see [NewKey] and
// [ParseJWKS]); nil keys are left out.
func NewStaticKeySet(keys ...*Key) *StaticKeySet {
	held := make([]*Key, 0, len(keys))
	for _, k := range keys {
		if k != nil {
			held = append(held, k)
		}
	}
	return &StaticKeySet{ix: newKeyIndex(held)}
}

// Key implements [KeySet].
func (s *StaticKeySet) Key(_ context.Context, kid, iss string) (*Key, error) {
	k, found := s.ix.find(kid, iss)
	if !found {
		return nil, fail(ErrUnknownKey, "no key with this kid")
	}
	return k, nil
}
