// Package saml validates SAML 2.0 responses from Microsoft Entra ID (or any
// SAML IdP) and turns the signed assertion into the SDK's claims, so that
// rbac policies and middleware requirements decide on a SAML sign-in as on
// a token.
//
// It is its own package so that services that only take tokens never link
// XML signature code. Signatures, canonicalization and the SAML schema are
// crewjam/saml's (with russellhaering/goxmldsig at a version that fixes
// every published signature bypass); this package adds Entra's claim
// mapping, structural checks in front of the library, replay protection,
// metadata rollover and the SDK's error classes.
//
// # Use
//
//	md, err := saml.NewRemoteMetadata(ctx,
//		"https://login.microsoftonline.com/"+tenant+"/federationmetadata/2007-06/federationmetadata.xml")
//	defer md.Close()
//	v, err := saml.NewValidator(md, "https://cbs.bank.example/saml", "https://cbs.bank.example/saml/acs")
//	a, err := v.Validate(ctx, r.PostFormValue("SAMLResponse"), pendingRequestIDs...)
//	d := policy.Decide(a.Claims) // the same rbac policy as for tokens
//
// The web sign-in flow (AuthnRequest, ACS, session cookie) is
// middleware/samlsp; AWS credentials from an assertion are
// federation/samlsts.
//
// # What is checked
//
// Before the library parses anything, the raw document is scanned: a DTD,
// entity, comment or processing instruction, more than 32 levels or 10,000
// elements, a root other than samlp:Response, and anything but exactly one
// Assertion (a direct child of the Response) are refused. Every published
// signature-wrapping variant (XSW1–8) needs a second assertion or one out
// of place, and comments inside a NameID are how the classic
// canonicalization attacks split a value.
//
// Then: the signature Options.Signed requires (the assertion's, by
// default, as Entra signs) and every signature present, by a certificate in
// the metadata (an unknown one refreshes remote metadata once, rate
// limited, for a rollover); Issuer equal to the metadata's entityID;
// AudienceRestriction naming the SP's entity ID; Destination and
// Recipient equal to the ACS URL; InResponseTo one of the SP's pending
// requests (or absent, with Options.AllowIdPInitiated); IssueInstant,
// NotBefore and NotOnOrAfter with Options.Leeway (at most 3 minutes); a
// bearer SubjectConfirmation and an AuthnStatement; and last, one-time use
// through the replay cache. Only the element the signature covers is
// read.
//
// # Encrypted assertions
//
// With Entra's "SAML token encryption" on, the assertion arrives as an
// EncryptedAssertion: signed by Entra, then encrypted to the SP's
// certificate. Give the validator the private key(s):
//
//	v, err := saml.NewValidator(md, entityID, acsURL, func(o *saml.Options) {
//		o.DecryptionKeys = []saml.DecryptionKey{{Key: cur, Certificate: curCert}, {Key: prev}}
//	})
//
// Keys are tried in order (a certificate in the EncryptedKey's KeyInfo
// skips the keys it does not match), at most MaxDecryptionKeys; for a
// rollover, list the new key first, upload its certificate to Entra,
// and drop the old key once Entra uses the new one. The first key's
// certificate is published by ServiceProviderMetadata as the encryption
// KeyDescriptor. Without a key an encrypted assertion is refused
// (ErrDecryption, "no decryption key is configured"). Set
// Options.RequireEncryption too, so that a plain assertion is refused
// (ErrDecryption) should encryption be turned off at Entra.
//
// Accepted: key transport RSA-OAEP (xmlenc#rsa-oaep-mgf1p with SHA-1,
// Entra's, and xmlenc11#rsa-oaep; a SHA-2 OAEP digest only with its MGF
// stated), content AES-256-CBC (Entra's) or AES-128/256-GCM;
// one EncryptedData with one EncryptedKey. Refused whatever crewjam/saml's
// xmlenc registry holds: rsa-1_5 (Bleichenbacher), 3DES, other AES sizes.
// The plaintext gets the scan of a plain response (its root one
// saml:Assertion, nothing before it) and the same Options.Signed rules
// (a response signature covers the EncryptedAssertion). A signed
// response is checked (signature, then its own fields) before anything is
// decrypted. An unsigned one (Entra's default) has its own checks
// (Destination, InResponseTo, Issuer, Status) made first, then the
// assertion is decrypted and scanned before the library reads it; every
// failure from there until its signature authenticates the plaintext,
// that signature included, is one error, ErrDecryption with one message,
// so no padding or format oracle answers an attacker. With CBC in an
// unsigned response the ciphertext is authenticated only by the
// signature inside it, and a forged one costs an RSA decryption per key:
// a bank should have Entra sign the response and the assertion, and set
// Signed to SignedBoth (and RequireEncryption), or prefer AES-GCM where
// the IdP offers it. Once decrypted with the key that opened it, the
// library decrypts it again to check its signature: an encrypted sign-in
// costs two RSA decryptions (about 2.5 ms more than a plain one), plus
// one for each key listed before that one.
//
// # Claims
//
// Entra's attribute URIs map to the claims its tokens carry:
//
//	http://schemas.microsoft.com/identity/claims/tenantid           tid
//	http://schemas.microsoft.com/identity/claims/objectidentifier   oid
//	http://schemas.microsoft.com/identity/claims/displayname        name
//	http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name      preferred_username (the UPN)
//	http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress  email
//	http://schemas.microsoft.com/ws/2008/06/identity/claims/groups  groups
//	http://schemas.microsoft.com/claims/groups.link                 _claim_names/_claim_sources (overage)
//	http://schemas.microsoft.com/ws/2008/06/identity/claims/role    roles (app roles)
//	http://schemas.microsoft.com/ws/2008/06/identity/claims/wids    wids
//	http://schemas.microsoft.com/claims/authnmethodsreferences      amr (multipleauthn → mfa, password → pwd)
//	NameID                                                          sub
//	Issuer (or Options.ClaimsIssuer)                                iss
//	the SP's entity ID                                              aud
//	Conditions NotBefore / NotOnOrAfter, IssueInstant, assertion ID nbf / exp, iat, jti
//	AuthnContextClassRef, SessionIndex, AuthnInstant                acr, sid, auth_time
//
// Every attribute is also a claim under its own name, a list of strings,
// for idbridge.Claims.Get and rbac's claim conditions
// (https://aws.amazon.com/SAML/Attributes/Role, say).
//
// # Errors
//
// Every error wraps one sentinel; idbridge.ReasonOf gives its class:
//
//	not base64 / XML, DTD, comment, PI, no assertion, EncryptedID    ErrMalformed      malformed
//	encrypted assertion: no key, cannot be opened, bad signature     ErrDecryption     signature
//	plain assertion with Options.RequireEncryption                   ErrDecryption     signature
//	bigger than MaxResponseBytes, too deep, too many elements        ErrTooLarge       too_large
//	bad or missing signature, several (encrypted) assertions (XSW)  ErrSignature      signature
//	SHA-1 signature or digest                                       ErrAlgorithm      algorithm
//	signed by a certificate not in the metadata                     ErrUnknownKey     unknown_key
//	NotOnOrAfter passed                                             ErrExpired        expired
//	NotBefore or IssueInstant in the future                         ErrNotYetValid    not_yet_valid
//	Issuer is not the metadata's entityID                           ErrIssuer         issuer
//	AudienceRestriction / Destination or Recipient                  ErrAudience / ErrRecipient  audience
//	InResponseTo unknown, or unsolicited when not allowed           ErrInResponseTo   forbidden
//	assertion used before                                           ErrReplayed       revoked
//	no NameID                                                       ErrMissingClaim   missing_claim
//	no metadata, replay cache cannot record                         ErrIdPUnavailable idp_unavailable
//	a constructor refused its options                               idbridge.ErrInvalidOptions  invalid_options
//
// No error, log line or audit event carries the response, the assertion
// or an attribute value; the audit's token_id is a hash of the assertion ID.
//
// # Testing
//
// Package [github.com/idbridge/idbridge/federation/saml/samltest] mints responses and
// federation metadata in Entra's shape.
package saml
