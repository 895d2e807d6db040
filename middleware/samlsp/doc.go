// Package samlsp signs users in to a web application with SAML 2.0 (an
// on-prem portal federated with Microsoft Entra ID, say) and puts the same
// [middleware.Principal] in the request context as the bearer guard does,
// so handlers, rbac decisions and middleware.FromContext work unchanged.
//
// # Use
//
//	md, _ := saml.NewRemoteMetadata(ctx, entraMetadataURL)
//	v, _ := saml.NewValidator(md, "https://cbs.bank.example/saml", "https://cbs.bank.example/saml/acs")
//	sp, _ := samlsp.New(v, func(o *samlsp.Options) { o.Policy = policy })
//	mux.Handle("/saml/", sp)                        // metadata, login, acs, logout
//	mux.Handle("/accounts/", sp.Require(accounts))  // signed-in users only
//
// # Routes
//
// The SP serves, beside its ACS URL's path (/saml/acs above):
//
//	GET  /saml/metadata   the SP's metadata, to register at the IdP (with its encryption certificate)
//	GET  /saml/login      SP-initiated sign-in: redirect with an AuthnRequest (?return=/path)
//	POST /saml/acs        the IdP's response (HTTP-POST binding): validated, session started
//	POST /saml/logout     ends the session, then the IdP's single logout when it has one
//
// Require sends a browser without a session (GET) to the IdP and back to
// the page it asked for; other requests get 401.
//
// # Encrypted assertions
//
// With Entra's SAML token encryption on, give the validator the key:
// saml.Options.DecryptionKeys (see package saml). /saml/metadata then
// publishes its certificate as a KeyDescriptor use="encryption", the
// certificate to upload at Entra (Token encryption), and the ACS opens
// the encrypted assertion with the same checks as a plain one. Set
// saml.Options.RequireEncryption too, to refuse a plain assertion.
//
// # Security
//
// Each AuthnRequest is bound to the browser that started it by a
// short-lived cookie (SameSite=None, so the IdP's cross-site POST carries
// it): the response must answer that browser's own request, so a response
// captured elsewhere or forced on a victim (login CSRF) is refused.
// Return paths are kept server-side and must be local paths, so RelayState
// cannot redirect off-site. The session cookie is __Host-, Secure,
// HttpOnly, SameSite=Lax and holds only a random 256-bit ID; the claims
// stay on the server, in a bounded store, for Options.SessionTTL or until
// the IdP's SessionNotOnOrAfter, whichever is first. Logout takes only a
// same-origin POST (a form on the application's pages: <form method="post"
// action="/saml/logout">): a GET is 405, and a POST whose Origin is not the
// ACS URL's origin, or whose Sec-Fetch-Site is cross-site or same-site, is
// 403, so another site's link, <img> or form cannot log users out (logout
// CSRF). Assertions are
// one-time (the validator's replay cache). A fleet behind a load balancer
// needs sticky sessions or one replica for the SP routes: the session
// store is in-process.
package samlsp
