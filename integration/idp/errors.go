package idp

import "errors"

// Sentinel errors returned by the provider's methods; match them with
// errors.Is. Errors never contain a password, secret, code or token.
var (
	// ErrInvalidOptions reports options that cannot describe a provider, such
	// as an unknown algorithm or a client without an id.
	ErrInvalidOptions = errors.New("idp: invalid options")
	// ErrClosed reports a call on a provider after Close.
	ErrClosed = errors.New("idp: provider closed")
	// ErrUnknownUser reports a username that is not configured.
	ErrUnknownUser = errors.New("idp: unknown user")
	// ErrInvalidCredentials reports a wrong username or password at login.
	ErrInvalidCredentials = errors.New("idp: invalid credentials")
	// ErrUserDisabled reports a login or approval by a disabled user (a leaver).
	ErrUserDisabled = errors.New("idp: user disabled")
	// ErrUnknownRequest reports an authorization request or user code the
	// provider does not know (expired, used, or never issued).
	ErrUnknownRequest = errors.New("idp: unknown request")
	// ErrAuthorize reports an authorization request the provider refused; the
	// wrapped detail carries the OAuth error code from the redirect.
	ErrAuthorize = errors.New("idp: authorization refused")
	// ErrUnexpectedResponse reports an HTTP answer a headless flow did not
	// expect, for example while the provider is stopped or a fault is injected.
	ErrUnexpectedResponse = errors.New("idp: unexpected response")
)
