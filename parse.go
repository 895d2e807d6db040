package idbridge

// ParseClaims decodes payload, a JSON claims object such as the payload of
// a JWT or the body of an OAuth 2.0 token introspection response (RFC
// 7662), with exactly the rules the jwks validator applies to a token
// payload: one JSON object, no duplicate member names at any depth (nor a
// typed claim spelled again in another letter case), typed claims of their
// JSON type (aud a string or an array of strings, scp a space-separated
// string or an array, the list claims arrays of strings, the dates
// numbers), null read as absent, and any other member kept as valid JSON.
//
// It verifies nothing: no signature, issuer, audience or time is checked,
// so only pass it claims that come from a source you already trust. The
// claims keep the payload (a []byte is copied first, a string is shared),
// so [Claims.Get] and [Claims.MarshalJSON] return its members; Header is
// empty, as there is no JOSE header. The input size is not bounded here:
// bound it before.
//
// Every error is a [*ParseError] wrapping [ErrMalformed]; its detail names
// at most a claim, cut short, never the payload.
func ParseClaims[T string | []byte](payload T) (*Claims, error) {
	s := string(payload) // a copy of a []byte: the claims keep substrings of it
	c := &Claims{raw: s}
	if detail := decodeClaims(s, c); detail != "" {
		return nil, &ParseError{Err: ErrMalformed, Detail: detail}
	}
	return c, nil
}

// ParseError is the detailed form of a refused token or claims object: Err
// is [ErrMalformed], Detail says what is wrong without quoting the input
// (at most a claim or header name, cut short).
type ParseError struct {
	Err    error
	Detail string
}

// Error returns the sentinel's message followed by the detail.
func (e *ParseError) Error() string { return e.Err.Error() + ": " + e.Detail }

// Unwrap returns the sentinel, for errors.Is.
func (e *ParseError) Unwrap() error { return e.Err }

// Reason returns the class of the sentinel, [ReasonMalformed].
func (e *ParseError) Reason() Reason { return ReasonOf(e.Err) }
