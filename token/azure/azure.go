package azure

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/token"
)

// TokenExchangeScope is the scope of a managed identity's token used as a
// federated identity credential: the client assertion of an Entra app that
// trusts the identity.
const TokenExchangeScope = "api://AzureADTokenExchange/.default"

// Source adapts an azcore.TokenCredential to token.Source for one set of
// scopes. It does not cache beyond what the credential itself does; wrap it
// in a token.Cache (or use [FromCredential]) for lock-free reads and
// renewal ahead of expiry. It is safe for concurrent use by multiple
// goroutines when the credential is, as azidentity's are.
type Source struct {
	cred azcore.TokenCredential
	name string
	tro  policy.TokenRequestOptions
}

// NewSource returns a Source asking cred for tokens for scopes, such as
// "api://cbs/.default" or "https://vault.azure.net/.default".
func NewSource(cred azcore.TokenCredential, scopes []string) (*Source, error) {
	return newSource(cred, fmt.Sprintf("%T", cred), scopes)
}

func newSource(cred azcore.TokenCredential, name string, scopes []string) (*Source, error) {
	if cred == nil {
		return nil, fmt.Errorf("token: %w: nil credential", idbridge.ErrInvalidOptions)
	}
	if len(scopes) == 0 {
		return nil, fmt.Errorf("token: %w: no scope (want one such as api://cbs/.default)", idbridge.ErrInvalidOptions)
	}
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return nil, fmt.Errorf("token: %w: scope %q is empty or contains white space", idbridge.ErrInvalidOptions, s)
		}
	}
	return &Source{cred: cred, name: name, tro: policy.TokenRequestOptions{Scopes: append([]string(nil), scopes...)}}, nil
}

// Token asks the credential for a token.
func (s *Source) Token(ctx context.Context) (*token.Token, error) {
	tro := s.tro
	tro.Scopes = append([]string(nil), s.tro.Scopes...) // a credential may keep or change the slice
	at, err := s.cred.GetToken(ctx, tro)
	if err != nil {
		return nil, classify(ctx, s.name, err)
	}
	if at.Token == "" {
		return nil, &Error{Credential: s.name, Err: token.ErrIdPUnavailable, Detail: "answered without a token"}
	}
	t := &token.Token{AccessToken: at.Token, TokenType: "Bearer", Expiry: at.ExpiresOn}
	if !at.RefreshOn.IsZero() && at.RefreshOn.Before(at.ExpiresOn) {
		t.RefreshAt = at.RefreshOn
	}
	return t, nil
}

// Assertion returns a client assertion callback that hands out src's
// access token: a managed identity's token for [TokenExchangeScope] is
// the assertion of an app that trusts it as a federated credential. A nil
// src makes every call fail with idbridge.ErrInvalidOptions; a token
// without an access token, with token.ErrIdPUnavailable.
func Assertion(src token.Source) token.AssertionFunc {
	return func(ctx context.Context) (string, error) {
		if src == nil {
			return "", &Error{Credential: "Assertion", Err: idbridge.ErrInvalidOptions, Detail: "no token source"}
		}
		t, err := src.Token(ctx)
		if err != nil {
			return "", err
		}
		if t == nil || t.AccessToken == "" {
			return "", &Error{Credential: "Assertion", Err: token.ErrIdPUnavailable, Detail: "the source returned no access token"}
		}
		return t.AccessToken, nil
	}
}

// Error is a failure of an Azure credential. It wraps a token sentinel
// (matched with errors.Is) and azidentity's error (reached with
// errors.As, for example *azidentity.AuthenticationFailedError), whose
// text, which may quote the response, is not part of Error().
type Error struct {
	// Err is the sentinel: idbridge.ErrInvalidOptions, token.ErrRejected or
	// token.ErrIdPUnavailable.
	Err error
	// Status is the identity endpoint's HTTP status, 0 without one.
	Status int
	// Detail says what went wrong, in this package's words (with
	// azidentity's own text when the credential is not available here);
	// never a token or secret.
	Detail string
	// Credential names the credential, such as "ManagedIdentityCredential".
	Credential string
	// Cause is azidentity's error.
	Cause error
}

// Error names the credential, the class and the status.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("token/azure: ")
	b.WriteString(e.Credential)
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Reason returns the class of Err.
func (e *Error) Reason() idbridge.Reason { return reason.Of(e.Err) }

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// maxDetail caps the credential-unavailable text kept in an error; a
// DefaultAzureCredential chain lists every credential it tried.
const maxDetail = 600

// classify turns azidentity's error into an *Error of the right class.
func classify(ctx context.Context, name string, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("token/azure: %s: %w", name, ctx.Err())
	}
	e := &Error{Credential: name, Cause: err}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		if afe.RawResponse != nil {
			e.Status = afe.RawResponse.StatusCode
		}
		switch s := e.Status; {
		case s == 0 || s == 408 || s == 429 || s >= 500:
			e.Err, e.Detail = token.ErrIdPUnavailable, "the identity endpoint did not answer usefully"
		default:
			e.Err, e.Detail = token.ErrRejected, "the identity endpoint refused the request (is the identity assigned to this resource, or trusted by the app?)"
		}
		return e
	}
	// Anything else is azidentity saying the credential cannot work here:
	// no managed identity endpoint, a variable or file missing. Its text
	// is its own, without response bodies of token endpoints.
	e.Err = idbridge.ErrInvalidOptions
	e.Detail = "not available here: " + err.Error()
	if len(e.Detail) > maxDetail {
		e.Detail = e.Detail[:maxDetail] + "…"
	}
	return e
}
