package token

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// OAuth2 adapts src to an oauth2.TokenSource, so that every source of this
// package plugs into oauth2.NewClient, oauth2.Transport and the many
// libraries that take one. Because oauth2.TokenSource.Token has no context,
// ctx is used for every call: pass one that lives as long as the adapter
// (context.Background is usual) and bound waits with the HTTP client's
// timeout instead.
//
// The oauth2.Token carries the access token, type, expiry and the ID token
// (as the "id_token" extra), never the refresh token. Do not wrap the
// result in oauth2.ReuseTokenSource: a [Cache] already does better.
func OAuth2(ctx context.Context, src Source) oauth2.TokenSource {
	return oauth2Source{ctx: ctx, src: src}
}

// errNilOAuth2 is every answer of an adapter made from a nil source.
var errNilOAuth2 = fmt.Errorf("%w: nil token source", errInvalidOptions)

type oauth2Source struct {
	ctx context.Context
	src Source
}

func (s oauth2Source) Token() (*oauth2.Token, error) {
	if s.src == nil {
		return nil, errNilOAuth2
	}
	t, err := s.src.Token(s.ctx)
	if err != nil {
		return nil, err
	}
	if t == nil || t.AccessToken == "" {
		// As FromOAuth2 and Cache refuse it: oauth2's Transport would send
		// an empty bearer token.
		return nil, unavailable("token source", errors.New("no access token"))
	}
	ot := &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.Type(), Expiry: t.Expiry}
	if t.IDToken != "" {
		ot = ot.WithExtra(map[string]any{"id_token": t.IDToken})
	}
	return ot, nil
}

// FromOAuth2 adapts an oauth2.TokenSource to a [Source], for tokens from
// the golang.org/x/oauth2 ecosystem (Google credentials, say). The
// context of each call cannot be passed on, because oauth2.TokenSource has
// none; a call still returns when its context ends, leaving ts to finish
// in the background. Wrap a bare oauth2 source in a [Cache]; the result of
// oauth2.ReuseTokenSource or oauth2.Config.TokenSource is cached already.
func FromOAuth2(ts oauth2.TokenSource) Source {
	return SourceFunc(func(ctx context.Context) (*Token, error) {
		if ts == nil {
			return nil, errNilOAuth2
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// ts.Token has no context; do not wait for it past ctx.
		ot, err := await(ctx, ts.Token)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil, fmt.Errorf("token: oauth2 token source: %w", err)
			}
			var re *oauth2.RetrieveError
			if errors.As(err, &re) {
				// RetrieveError.Error prints the raw body; keep only the fields.
				e := &Error{Code: re.ErrorCode, Message: scrub(re.ErrorDescription, nil), URI: re.ErrorURI}
				if re.Response != nil {
					e.Status = re.Response.StatusCode
				}
				e.Err = classify(e.Code, e.Status)
				return nil, e
			}
			return nil, unavailable("oauth2 token source", err)
		}
		if ot == nil || ot.AccessToken == "" {
			return nil, unavailable("oauth2 token source", errors.New("no access token"))
		}
		t := &Token{AccessToken: ot.AccessToken, TokenType: ot.TokenType, Expiry: ot.Expiry}
		if id, ok := ot.Extra("id_token").(string); ok {
			t.IDToken = id
		}
		return t, nil
	})
}
