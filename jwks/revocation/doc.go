// Package revocation takes back access that users already hold: a list of
// revoked subjects, tokens and sessions, checked on every request after the
// token is validated and before it is authorized.
//
// A token stays valid until its exp — 60 to 90 minutes for a Microsoft
// Entra ID access token, up to 28 hours for clients capable of continuous
// access evaluation — and Entra signals revocations only to Microsoft's own
// APIs. A service learns of a leaver from governance (a Go call) or from
// OpenID Shared Signals events (subpackage ssf), and refuses the tokens in
// flight with this list.
//
// # Entries
//
// An [Entry] revokes one of three things:
//
//   - a subject ([EntraUser] by tid+oid, [IssuerSubject] by iss+sub): every
//     token of that user issued before the revocation time (iat before At,
//     or in the same second: iat has whole seconds),
//     so a user who signs in again later — a re-hire — is not locked out;
//   - a token ([IssuerToken], its jti or Entra uti);
//   - a session ([IssuerSession], its sid): every token of that sign-in.
//
// jti and sid values are unique per issuer only, so a token or session
// entry names its issuer and never matches another issuer's tokens;
// [TokenID] and [SessionID] (any issuer) are for an operator who knows the
// value is unique.
//
// Entries expire by themselves: once Options.MaxTokenLifetime (28 hours by
// default) plus the largest validation leeway has passed, no token they
// could match is still valid. A malformed entry is refused, not stored.
//
// # Checking
//
//	list, _ := revocation.New()
//	_ = list.Revoke(ctx, revocation.EntraUser(tid, oid)) // governance: Leo left
//	...
//	claims, err := validator.Validate(ctx, bearer)
//	if err == nil {
//		err = list.Check(ctx, claims) // *RevokedError, class "revoked"
//	}
//
// [List.Check] records token.rejected (reason revoked, field revocation =
// "subject", "token" or "session"; the token itself never). [List.Lookup]
// answers the same without audit. Both read a lock-free Bloom filter first,
// so a token that is not revoked costs a few hashes, no lock and no
// allocation, even with 100,000 entries.
//
// # Enforcement
//
// [NewValidator] wraps any validator (*jwks.Validator, *token.Introspector)
// so that whatever takes one — the middleware guard for HTTP, gRPC unary
// calls and stream opening — refuses revoked tokens after validation and
// before authorization (401 invalid_token, reason revoked):
//
//	guard, err := middleware.New(revocation.NewValidator(validator, list), ...)
//
// [List.WatchStream] is a grpcauth.StreamWatcher: pass the list in
// grpcauth.ServerOptions.StreamWatchers and a revoked user's open gRPC streams
// end with Unauthenticated as soon as the entry reaches the replica.
// [Source] wraps a user's token source (a federation.Provider's, an
// on-behalf-of Source) so a revoked user gets no new AWS credentials and
// no downstream token.
//
// Options.OnRevoke runs for each new entry, on every replica of a shared
// list, to drop what caches hold for the user: rbac/graph Source.Forget
// (by object ID), and, through [Entry.Matches], the downstream tokens of
// a token.Exchange and the groups of an rbac/ldap Directory:
//
//	o.OnRevoke = func(e revocation.Entry) {
//		obo.Forget(e.Matches)               // on-behalf-of and exchanged tokens
//		directory.ForgetMatching(e.Matches) // LDAP groups of the user's account
//	}
//
// # Replicas
//
// A List lives in one process. The redis subpackage shares one list among
// the replicas of a service through Redis: each keeps a local List for the
// request path and receives the others' revocations by pub/sub.
package revocation
