package revocation

import (
	"context"
	"fmt"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/token"
)

// Source returns src, a source of tokens that act for the user whose
// verified claims are c (the ID token of their sign-in, or the access token
// a service received), that stops handing out tokens once c is revoked:
// its Token returns the list's [*RevokedError] instead. Wrap with it what
// turns a user's sign-in into further credentials, so a leaver gets none:
// the token source of a federation.Provider (no new AWS credentials), an
// on-behalf-of or token-exchange Source (no downstream token reused). The
// check is one [List.Lookup]; the result has src's Invalidate method when
// src has one. Without src, list or c (the nil claims of a failed
// validation) its Token refuses with [idbridge.ErrInvalidOptions]: there is
// no user whose revocation it could check.
func Source(src token.Source, list Checker, c *idbridge.Claims) token.Source {
	s := &source{src: src, list: list, c: c}
	if src == nil || list == nil || c == nil {
		s.list = refuse{errSourceParts}
	}
	if inv, ok := src.(interface{ Invalidate() }); ok {
		return &invalidatingSource{source: s, inv: inv}
	}
	return s
}

var errSourceParts = fmt.Errorf("revocation: %w: Source needs a token source, a list and the user's claims", idbridge.ErrInvalidOptions)

type source struct {
	src  token.Source
	list Checker
	c    *idbridge.Claims
}

func (s *source) Token(ctx context.Context) (*token.Token, error) {
	if err := s.list.Check(ctx, s.c); err != nil {
		return nil, err
	}
	return s.src.Token(ctx)
}

type invalidatingSource struct {
	*source
	inv interface{ Invalidate() }
}

func (s *invalidatingSource) Invalidate() { s.inv.Invalidate() }
