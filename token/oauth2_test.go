package token

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/idbridge/idbridge"
)

func TestOAuth2Adapters(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	src := SourceFunc(func(context.Context) (*Token, error) {
		return &Token{AccessToken: "at", TokenType: "bearer", Expiry: exp, IDToken: "id", RefreshToken: "rt"}, nil
	})
	ot, err := OAuth2(context.Background(), src).Token()
	if err != nil {
		t.Fatal(err)
	}
	if ot.AccessToken != "at" || ot.TokenType != "Bearer" || !ot.Expiry.Equal(exp) || ot.Extra("id_token") != "id" || ot.RefreshToken != "" {
		t.Fatalf("oauth2 token %+v", ot)
	}
	back, err := FromOAuth2(oauth2.StaticTokenSource(ot)).Token(context.Background())
	if err != nil || back.AccessToken != "at" || back.IDToken != "id" {
		t.Fatalf("round trip %+v, %v", back, err)
	}
	failing := SourceFunc(func(context.Context) (*Token, error) { return nil, ErrSignInRequired })
	if _, err := OAuth2(context.Background(), failing).Token(); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("error lost: %v", err)
	}
}

func TestFromOAuth2Errors(t *testing.T) {
	idp := newFakeIdP(t, func(int, url.Values, http.Header) (int, map[string]string, string) {
		return 401, nil, `{"error":"invalid_client","error_description":"bad secret s3cret-xyz"}`
	})
	cfg := clientcredentials.Config{ClientID: "c", ClientSecret: "s3cret-xyz", TokenURL: idp.URL()}
	_, err := FromOAuth2(cfg.TokenSource(context.Background())).Token(context.Background())
	var oe *Error
	if !errors.Is(err, ErrRejected) || !errors.As(err, &oe) || oe.Status != 401 {
		t.Fatalf("err = %#v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "a"})).Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
}

func TestFromOAuth2HonoursContext(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hung := oauth2TokenSourceFunc(func() (*oauth2.Token, error) { <-release; return &oauth2.Token{AccessToken: "late"}, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := FromOAuth2(hung).Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

type oauth2TokenSourceFunc func() (*oauth2.Token, error)

func (f oauth2TokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

// TestOAuth2AdaptersOfNil: an adapter made from a nil source answers every
// call with ErrInvalidOptions instead of panicking.
func TestOAuth2AdaptersOfNil(t *testing.T) {
	if _, err := OAuth2(context.Background(), nil).Token(); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("OAuth2(nil).Token() = %v, want ErrInvalidOptions", err)
	}
	if _, err := FromOAuth2(nil).Token(context.Background()); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("FromOAuth2(nil).Token() = %v, want ErrInvalidOptions", err)
	}
	// A source that returns neither a token nor an error, and an oauth2
	// source that does the same, fail with ErrIdPUnavailable.
	silent := SourceFunc(func(context.Context) (*Token, error) { return nil, nil })
	if ot, err := OAuth2(context.Background(), silent).Token(); ot != nil || !errors.Is(err, ErrIdPUnavailable) {
		t.Errorf("OAuth2 of a source answering nil, nil: %v, %v; want ErrIdPUnavailable", ot, err)
	}
	idOnly := SourceFunc(func(context.Context) (*Token, error) { return &Token{IDToken: "id"}, nil })
	if ot, err := OAuth2(context.Background(), idOnly).Token(); ot != nil || !errors.Is(err, ErrIdPUnavailable) {
		t.Errorf("OAuth2 of a token without access token: %v, %v; want ErrIdPUnavailable", ot, err)
	}
	if tok, err := FromOAuth2(oauth2TokenSourceFunc(func() (*oauth2.Token, error) { return nil, nil })).Token(context.Background()); tok != nil || !errors.Is(err, ErrIdPUnavailable) {
		t.Errorf("FromOAuth2 of a source answering nil, nil: %v, %v; want ErrIdPUnavailable", tok, err)
	}
}
