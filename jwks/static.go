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

// issuerMatches compares a key's issuer property with the token's iss. The
// property may be an Entra template with {tenantid}, which matches one path
// segment (the validator has already checked that segment is the tid).
//
// Entra publishes one key set, whose keys name the v2.0 issuer, for v2.0 and
// v1.0 tokens alike; so a key issuer of the form <authority>/<tenant>/v2.0
// also matches a v1.0 iss <v1 authority>/<tenant>/ of the same tenant. The
// v1.0 iss itself was already checked against the trusted issuers.
func issuerMatches(pattern, iss string) bool {
	if segmentMatch(pattern, iss) {
		return true
	}
	// v1.0 token, v2.0 key issuer: compare the tenant segments.
	if strings.HasSuffix(pattern, "/v2.0") && strings.HasSuffix(iss, "/") {
		kt := lastSegment(strings.TrimSuffix(pattern, "/v2.0"))
		tt := lastSegment(strings.TrimSuffix(iss, "/"))
		return tt != "" && (kt == tenantPlaceholder || kt == tt)
	}
	return false
}

// segmentMatch compares an issuer, or a template whose {tenantid} stands
// for one non-empty path segment, with iss.
func segmentMatch(pattern, iss string) bool {
	pre, suf, ok := splitTemplate(pattern)
	if !ok {
		return pattern == iss
	}
	if len(iss) <= len(pre)+len(suf) || iss[:len(pre)] != pre || iss[len(iss)-len(suf):] != suf {
		return false
	}
	return !strings.Contains(iss[len(pre):len(iss)-len(suf)], "/")
}

func lastSegment(s string) string {
	return s[strings.LastIndexByte(s, '/')+1:]
}

// StaticKeySet is a fixed set of keys, for tests and for deployments that
// pin keys. It is safe for concurrent use.
type StaticKeySet struct {
	ix *keyIndex
}

// NewStaticKeySet returns a key set holding keys (see [NewKey] and
// [ParseJWKS]).
func NewStaticKeySet(keys ...*Key) *StaticKeySet {
	return &StaticKeySet{ix: newKeyIndex(append([]*Key(nil), keys...))}
}

// Key implements [KeySet].
func (s *StaticKeySet) Key(_ context.Context, kid, iss string) (*Key, error) {
	k, found := s.ix.find(kid, iss)
	if !found {
		return nil, fail(ErrUnknownKey, "no key with this kid")
	}
	return k, nil
}
