// Package graph resolves a user's Entra ID groups through Microsoft Graph
// when an access token leaves them out (groups overage), as an
// [rbac.GroupSource].
//
// # When it is used
//
// Entra puts at most 200 group IDs in a JWT. Past that the token carries
// _claim_names.groups and a _claim_sources entry instead of a groups claim,
// and the resource must look the groups up itself. [Source] does so with
// POST /users/{oid}/getMemberObjects, which returns every group (nested
// ones included) as object IDs, the form the policy matches on.
//
// The endpoint named in the token's _claim_sources is deliberately ignored:
// it points at the retired Azure AD Graph, and following a URL from a token
// would let whoever shapes the token steer the request. The Graph endpoint
// is configuration.
//
// getMemberObjects does not page. It returns up to 11,000 IDs in one
// response; past that Graph answers 400 Directory_ResultSizeLimitExceeded,
// which [Source.Groups] reports as an [*Error] (wrapping [ErrUnavailable]),
// so rbac denies: deciding on part of a user's groups could miss the group
// a deny rule names. For the same reason a response that carries
// @odata.nextLink is refused rather than followed.
//
// # Credentials
//
// The lookup uses an app-only token for Microsoft Graph (scope
// https://graph.microsoft.com/.default, application permission
// GroupMember.Read.All) from a token.Source, typically a
// client-credentials source in token's cache. The token is sent only in
// the Authorization header and never appears in errors or logs.
//
// # Caching and failure
//
// Results are cached per tenant and user for Options.TTL (0 means
// 5 minutes, negative means no cache) and concurrent
// lookups for one user share one request. Throttling (429, 503) is retried
// after Retry-After when that fits Options.MaxRetryAfter. Any failure is
// returned as an error wrapping [ErrUnavailable]; rbac then denies (fails
// closed) rather than deciding on partial groups.
package graph
