// Package ldap connects rbac to an LDAP or Active Directory directory: it
// resolves a user's groups, nested ones included, and checks directory
// credentials for on-prem applications that have no token.
//
// # Two uses
//
// As an [rbac.GroupSource] ([Directory.Groups]) it answers "which groups is
// this user in" for a policy issuer whose tokens do not carry groups, or for
// which the directory is the authority (Options.GroupSources in rbac).
// rbac asks on every decision; Options.GroupsTTL (a minute unless set;
// negative turns it off) caches the answer per user, trading directory
// load for how soon a mover or leaver takes effect ([Directory.Forget]
// makes it at once).
//
// For an on-prem application that authenticates users with a directory
// password, [Directory.Authenticate] checks the password with an LDAP bind
// as the user and returns a *idbridge.Claims with Issuer (Options.Issuer),
// Subject (the user's DN) and Groups (normalized group DNs). Declare that
// issuer in the policy with group_ids: dn and decide as for any token:
//
//	claims, err := dir.Authenticate(ctx, username, password)
//	if err != nil { ... } // ErrInvalidCredentials, ErrDisabled, ErrUnavailable
//	d := policy.Decide(claims)
//
// [Directory.Lookup] builds the same claims for a user already
// authenticated some other way (Kerberos, a reverse proxy).
//
// # Names
//
// The claims' PreferredUsername is the user's name as the directory holds
// it (the uid, sAMAccountName or userPrincipalName value that
// Options.UserFilter matched; see Options.UsernameAttribute), never as
// typed: LDAP matching ignores case, so "AMIT.R" signs in as amit.r, and a
// deny rule on preferred_username or an AWS source identity sees one
// spelling. Names with surrounding spaces (which LDAP would also ignore),
// control or invisible formatting characters, invalid UTF-8 or over
// 256 bytes are refused with [ErrInvalidUsername] before the
// directory is asked; filter metacharacters are escaped, so "*" or
// "x)(uid=*" match nobody.
//
// Authenticate never tells a password guesser whether an account exists
// or is locked: a wrong password, an unknown user and a locked account
// whose directory refuses the bind all return ErrInvalidCredentials, and
// an unknown user costs a bind like a known one. ErrDisabled comes only
// with the right password. Lookup and Groups, which callers reach after
// authenticating the user, do report ErrDisabled and ErrNoUser.
//
// # Connections
//
// Searches run on a small pool of connections bound as a read-only service
// account; each user bind gets its own short-lived connection (at most
// Options.MaxConns at once), so a user's identity never leaks into the
// pool. Every dial and operation has a
// timeout and honours the caller's context, so a stopped or hung server
// yields [ErrUnavailable] within the timeout, never a hang. Passwords only
// travel over TLS: use an ldaps:// URL or Options.StartTLS; plain ldap://
// needs Options.InsecurePlaintext.
//
// # Nested groups
//
// Group membership is expanded transitively by searching for groups that
// list the user, then groups that list those groups, up to
// Options.MaxDepth, with cycles ignored. Against Active Directory,
// Options.InChain uses the LDAP_MATCHING_RULE_IN_CHAIN matching rule to do
// it in one search.
package ldap
