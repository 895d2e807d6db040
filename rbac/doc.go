// Package rbac turns verified identity-provider claims into roles,
// permissions and per-environment grants, from one declarative policy file
// that is reviewed like code, tested offline and explains every decision.
//
// # The policy file
//
// A policy is YAML, decoded strictly: unknown fields, duplicate keys or
// IDs, undeclared roles or groups, malformed group IDs, role ARNs and
// durations are load errors, each reported as a [*PolicyError] with its
// line and column. A policy that has any problem never loads (and never
// replaces a working one on [Policy.Reload]). Anchors and aliases are
// rejected.
//
//	version: 1
//	issuers:                      # trusted issuers; tokens from others are denied
//	  - name: entra
//	    issuer: https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
//	    group_ids: object_id      # object_id (GUID) | dn (LDAP/AD) | name
//	    v1_issuer: https://sts.windows.net/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/  # optional; see Issuers and IDs
//	    claims: {groups: groups, roles: roles, scopes: scp}    # the defaults
//	groups:                       # IDs are matched; names are for people
//	  - {id: 4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13, name: Lending_RM, issuer: entra}
//	roles:
//	  - {name: LoanViewer, permissions: [loan:read]}
//	mappings:
//	  - id: rm-view
//	    when: {group: Lending_RM}  # see Conditions
//	    grant:
//	      roles: [LoanViewer]
//	      aws:                      # per-environment grants
//	        - role_arn: arn:aws:iam::111122223333:role/Loan_ReadOnly
//	          duration: 1h
//	          session_tags: {Department: Lending}
//	          source_identity: preferred_username
//	      ad_groups: [CBS_ViewOnly]   # declared groups of a dn/name issuer
//	deny:                         # deny wins over every grant
//	  - {id: leaver, reason: revoked, when: {group: HR_Leavers}}
//	separation_of_duties:         # roles nobody may hold together
//	  - {id: originate-vs-approve, roles: [LoanOriginator, LoanApprover]}
//	tests:                        # claims → expected decision; see Policy.Test
//	  - name: RM reads loans
//	    claims: {iss: "...", groups: [4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13]}
//	    expect: {allowed: true, roles: [LoanViewer], can: [loan:read], cannot: [loan:approve]}
//
// The scenario policy of the bank (Relationship Manager across Azure, AWS
// and on-prem, a credit officer with a separation-of-duties conflict, a
// mover and a leaver) is examples/policies/bank.yaml in the repository.
//
// # Issuers and IDs
//
// A token's iss must equal a declared issuer exactly. A multi-tenant
// Entra app writes its issuer as Entra's metadata does, with {tenantid},
// and lists the tenants it trusts: the token's tid fills the template,
// the result must equal iss exactly, and tid must be on the list (any
// tenant can otherwise sign users in and assign them app roles). Other
// tenants are denied with [ErrTenant], unknown issuers with [ErrIssuer]:
//
//	issuers:
//	  - name: entra
//	    issuer: https://login.microsoftonline.com/{tenantid}/v2.0
//	    tenants: [9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c, 1a2b3c4d-0000-4000-8000-00000000000f]
//
// An API that accepts Entra v1.0 and v2.0 access tokens (while it or its
// clients migrate) sees two iss values for one tenant. The v2.0 issuer's
// v1_issuer names the same tenant's v1.0 issuer, exactly as v1.0 tokens
// carry it; tokens of either are decided as the one issuer, so its
// groups, app roles and rules are declared once. Only Entra's own pair is
// accepted, for the same tenant ({tenantid} with {tenantid}, sharing the
// tenants list):
//
//	issuers:
//	  - name: entra
//	    issuer: https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0
//	    v1_issuer: https://sts.windows.net/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/
//
// IDs are matched by kind, whatever case the policy writes them in: group
// object IDs and tenant IDs are GUIDs and compare case-insensitively (Entra
// emits lower case; a group source or a hand-made token may not); DNs
// compare canonically (RFC 4514: escapes and hex pairs decoded, spaces
// around types and values dropped, case and the order of a multi-valued
// RDN's attributes ignored), as LDAP does, without linking an LDAP
// client; group
// names of a group_ids: name issuer, app roles, scopes, acr values and
// claim values compare exactly. [NormalizeGroupID] gives the canonical
// form. Folding costs Decide no allocation.
//
// # Conditions
//
// A when object holds when all of its keys hold. Keys: group (a declared
// group, by name or ID), app_role (a value of the token's roles claim),
// scope, tenant (a tid GUID), issuer (a declared issuer name), claim
// ({name, equals}: a string claim, or any element of a string-array claim),
// mfa (true: amr contains "mfa"), acr (acr or one of acrs), and all / any,
// lists of nested when objects. Negation is expressed with deny rules.
// Every alternative belongs to one issuer (the one named, or its groups'
// issuer, or the only one), so an app role from one IdP never matches a
// mapping written for another.
//
// # Decisions
//
// At load, conditions are expanded into conjunctions and indexed by their
// most selective test; [Policy.Decide] looks only at the conjunctions
// anchored on values the token actually carries, behind a bit filter that
// turns away the groups the policy does not mention. A decision therefore
// costs the same for 50 or 10,000 mappings and does not allocate.
//
// A [Decision] denies by default (no mapping: "insufficient_role"); says
// "step_up_required" or "insufficient_scope" when a mapping failed only for
// lack of MFA/acr or scopes; denies with the rule's class when a deny rule
// matches; and denies with [ErrSoD] when the granted roles break a
// separation-of-duties constraint. [Decision.Allowed] checks a permission,
// [Decision.Check] says why not, [Decision.Explain] names the mappings and
// rules involved. Claims of an unexpected JSON type (groups as a string, a
// null claim a condition reads) are denied with [ErrClaimType], never
// guessed at. [Policy.Authorize] decides, checks one permission and writes
// an authz.allowed or authz.denied audit event.
//
// # Groups the token does not carry
//
// Entra leaves the groups claim out past 200 groups (overage). With
// Options.Groups set (rbac/graph resolves them through Microsoft Graph),
// the decision uses the resolved groups; without it, or when the source
// fails, the decision fails closed. Options.GroupSources attaches a source
// to an issuer whose tokens carry no groups, or for which a directory is
// the authority.
//
// On-prem applications that authenticate users against LDAP/AD and have
// no token use rbac/ldap: Directory.Authenticate checks the password and
// returns claims (the directory's issuer, the user's DN as subject, the
// nested group DNs) that [Policy.Decide] takes like any token's.
//
// # Size and memory
//
// A policy file may be up to Options.MaxSize bytes (16 MiB by default).
// It is read one top-level entry, or one batch of block-list items, at a
// time, so that only a small YAML tree is alive at once: loading a 15 MiB
// policy of 95,000 mappings peaks at about 13 times the file's size in
// heap (199 MiB; 250 MB resident), against 43 times (643 MiB; 710 MB
// resident) when the whole document was one yaml.v3 tree. Most of what
// remains is the decoded file and the compiled policy, which decisions
// need. A single entry that is not a block list, or a single list item,
// must stay under 1 MiB: a generated policy written as one flow-style or
// JSON document is therefore limited to 1 MiB; write it in block style
// ("- " items) to go beyond.
//
// # Reload and review
//
// [Policy.Reload] re-reads the file and swaps it in atomically; a bad file
// keeps the old policy; both outcomes are audited as policy.reloaded.
// So does a policy that would break a middleware guard built on this one
// (a permission, role or scope one of its routes requires, or an issuer
// its validator trusts, no longer declared): [Policy.Reload] and
// [Policy.Update] return the guard's start-up error for it and keep the
// working policy, so a typo in a reload cannot turn into 403s for every
// caller. To deny on purpose, use a deny rule or remove the mappings.
// Decisions already made keep the policy they were made with. The
// examples/policycheck command runs a policy's inline tests and answers
// "can these claims do X?" offline, for reviewers of a mapping change.
package rbac
