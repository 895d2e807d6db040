package jwks

// ParseClaims decodes payload, a JSON claims object such as the payload of
// a JWT or the body of an OAuth 2.0 token introspection response (RFC
// 7662), with exactly the rules [Validator] applies to a token payload:
// one JSON object, no duplicate member names at any depth (nor a typed
// claim spelled again in another letter case), typed claims of their JSON
// type (aud a string or an array of strings, scp a space-separated string
// or an array, the list claims arrays of strings, the dates numbers), null
// read as absent, and any other member kept as valid JSON.
//
// It verifies nothing: no signature, issuer, audience or time is checked,
// so only pass it claims that come from a source you already trust. The
// payload is copied and kept, so [Claims.Get] and [Claims.MarshalJSON]
// return its members; KeyID, Algorithm and Type are empty, as there is no
// JOSE header. The input size is not bounded here: bound it before.
//
// Every error is a [*ValidationError] wrapping [ErrMalformed]; its detail
// names at most a claim, cut short, never the payload.
func ParseClaims(payload []byte) (*Claims, error) {
	s := string(payload) // a copy: the claims keep substrings of it
	c := &Claims{raw: s}
	if detail := decodeClaims(s, c); detail != "" {
		return nil, fail(ErrMalformed, detail)
	}
	return c, nil
}
