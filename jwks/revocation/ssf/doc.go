// Package ssf receives OpenID Shared Signals Framework events pushed by a
// transmitter (RFC 8935) and turns CAEP and RISC events into revocations.
//
// An identity provider or governance system that offboards a user sends a
// Security Event Token (SET, RFC 8417) saying so; [Receiver], an
// http.Handler, validates it with the SDK's own token validation and
// revokes through any [Revoker] — a revocation.List or the Redis-backed
// list shared by replicas:
//
//	rcv, err := ssf.NewReceiver(list, func(o *ssf.Options) {
//		o.Issuer = "https://ssf.governance.example"          // the transmitter
//		o.JWKSURL = "https://ssf.governance.example/jwks.json"
//		o.Audience = "https://lending.example/ssf/events"    // this receiver
//		o.EntraTenantID = tid                                // opaque ids are Entra object IDs
//	})
//	...
//	mux.Handle("POST /ssf/events", rcv)
//
// # Validation
//
// A SET is refused unless its issuer is the transmitter, its audience this
// receiver, its typ "secevent+jwt" (so no access or ID token is ever taken
// for an event), its signature verifies with a key of the transmitter's
// JWKS under an allowed algorithm, its iat is no older than Options.MaxAge
// and not ahead, and its jti was not received before (within MaxAge). SETs
// carry no exp; jwks.Options.MaxAge is what validates them.
//
// # Events
//
//	CAEP session-revoked    a session (complex subject with session) or the user's tokens
//	CAEP credential-change  the user's tokens issued before (change_type create: none)
//	RISC account-disabled, account-purged, sessions-revoked: the user's tokens
//
// Subjects follow RFC 9493 ([ParseSubject]): iss_sub maps to an issuer and
// subject, for an issuer in Options.SubjectIssuers only (default: the
// v2.0 and v1.0 issuers of Options.EntraTenantID; with neither, every
// iss_sub is refused); opaque to a Microsoft Entra object ID when
// Options.EntraTenantID is set (a complex subject naming another tenant is
// refused); aliases to each identifier; others (email, phone_number,
// account...) through Options.Resolve. A revoked session (an opaque sid)
// is scoped to the iss_sub user's issuer, or else to each of
// SubjectIssuers, never to every issuer: a sid is unique per issuer only.
// So a transmitter speaks for the users and sessions of the issuers it
// was configured for, and a SET naming any other is refused (400) and
// revokes nothing. Each revocation takes effect at the event's
// event_timestamp, or the SET's iat: tokens issued before it are refused.
// Unknown event types are acknowledged (202) and ignored.
//
// # Answers
//
// As RFC 8935 §2.3 specifies: 202 Accepted for a valid SET, 400 with
// {"err": ..., "description": ...} for an invalid one (invalid_request,
// invalid_key, invalid_issuer, invalid_audience), 401
// authentication_failed when Options.Authenticate refuses the transmitter.
// A valid SET whose revocation cannot be stored now gets 503, so the
// transmitter retries. A refused SET revokes nothing, and no answer or log
// quotes it.
package ssf
