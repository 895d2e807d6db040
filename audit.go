package idbridge

// AuditSchemaVersion is the version of the audit event schema, written in
// every event as [FieldSchemaVersion]. It changes only when a name below is
// renamed or removed or a field changes meaning; new events and fields keep
// it. The schema is documented event by event in AUDIT.md.
const AuditSchemaVersion = 1

// Audit event names, the value of [FieldEvent]. Each is emitted by the
// packages named in AUDIT.md; a SIEM rule may match on them.
const (
	EventTokenValidated     = "token.validated"      // a token or assertion passed every check
	EventTokenRejected      = "token.rejected"       // a token or assertion was refused (or absent)
	EventAuthzAllowed       = "authz.allowed"        // a decision granted a permission or a role
	EventAuthzDenied        = "authz.denied"         // a decision refused a permission or a role
	EventTokenIssued        = "token.issued"         // the IdP issued a token (sign-in, client credentials)
	EventTokenRefreshed     = "token.refreshed"      // a held token was renewed
	EventTokenRefreshFailed = "token.refresh_failed" // an issuance or renewal failed
	EventSignInFailed       = "signin.failed"        // an interactive sign-in failed before a token was issued
	EventSTSAssumed         = "sts.assumed"          // STS issued cloud credentials
	EventSTSFailed          = "sts.failed"           // STS refused, or a refusal was answered from memory
	EventJWKSRefreshed      = "jwks.refreshed"       // the IdP's signing keys (or SAML metadata) were fetched
	EventJWKSRefreshFailed  = "jwks.refresh_failed"  // fetching the signing keys failed
	EventPolicyReloaded     = "policy.reloaded"      // an RBAC policy was loaded or refused
	EventRevocationAdded    = "revocation.added"     // a token, session or subject was revoked
	EventDirectoryLogin     = "directory.login"      // a directory (LDAP) bind for a user, success or failure
	EventGroupsResolved     = "groups.resolved"      // a user's groups were read from Graph or a directory
)

// Outcomes, the value of [FieldOutcome]. Failures are written at level WARN,
// successes at INFO.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Audit field names common to events. Fields without a value are left out.
const (
	FieldEvent         = "event"          // one of the Event constants
	FieldSchemaVersion = "schema_version" // AuditSchemaVersion
	FieldOutcome       = "outcome"        // OutcomeSuccess or OutcomeFailure
	FieldReason        = "reason"         // reason class of a failure (Reason* constants)
	FieldIssuer        = "iss"            // token issuer
	FieldTenantID      = "tid"            // Entra tenant ID
	FieldSubject       = "sub"            // token subject (pairwise in Entra)
	FieldObjectID      = "oid"            // Entra object ID of the user or service principal
	FieldClient        = "azp"            // client the token was issued to (azp, appid or client_id)
	FieldKeyID         = "kid"            // signing key ID
	FieldAlgorithm     = "alg"            // signing algorithm, or SAML2 for assertions
	FieldTokenID       = "token_id"       // hash of jti/uti (or assertion ID): never the token
	FieldRoles         = "roles"          // roles granted or held
	FieldPermission    = "permission"     // permission or route decided
	FieldRoute         = "route"          // route pattern or gRPC method
	FieldMethod        = "method"         // HTTP method
	FieldRemoteAddr    = "remote_addr"    // peer address
	FieldDuration      = "duration_ms"    // time the step took, in milliseconds
	FieldTraceID       = "trace_id"       // W3C trace ID of the request's span (32 hex digits)
	FieldSpanID        = "span_id"        // W3C span ID of the request's span (16 hex digits)
)

// Event-specific audit field names.
const (
	FieldCache              = "cache"                // token.*: "hit" or "miss" in the verified-token cache (jwks.Options.Cache)
	FieldPolicyVersion      = "policy_version"       // authz.*, policy.reloaded: policy in force
	FieldPolicyPrevious     = "policy_previous"      // policy.reloaded: policy before the reload
	FieldMappings           = "mappings"             // authz.*: policy mappings that granted roles; policy.reloaded: count
	FieldRule               = "rule"                 // authz.*: rule that decided (separation of duties, step-up)
	FieldProblems           = "problems"             // policy.reloaded failure: number of problems
	FieldError              = "error"                // failure detail; never carries a token or secret
	FieldURL                = "url"                  // jwks.*, directory.login, groups.resolved: URL, without userinfo or query
	FieldKeys               = "keys"                 // jwks.refreshed: keys accepted
	FieldSkipped            = "skipped"              // jwks.refreshed: keys skipped (unsupported)
	FieldForced             = "forced"               // jwks.refreshed: fetched for an unknown kid
	FieldRoleARN            = "role_arn"             // sts.*: role asked for
	FieldPrincipalARN       = "principal_arn"        // sts.* (SAML): identity provider ARN
	FieldMapping            = "mapping"              // sts.*: rbac mapping that granted the role
	FieldSessionName        = "session_name"         // sts.*: role session name
	FieldAssumedRoleARN     = "assumed_role_arn"     // sts.assumed: STS's assumed-role ARN
	FieldSourceIdentity     = "source_identity"      // sts.assumed: source identity set on the session
	FieldProvider           = "provider"             // sts.assumed: web identity provider STS named
	FieldErrorCode          = "error_code"           // *.failed: the IdP's or STS's error code
	FieldRequestID          = "request_id"           // sts.*: STS request ID
	FieldAccessKeyID        = "access_key_id"        // sts.assumed: access key ID (not secret; names the session in CloudTrail)
	FieldAccountID          = "account_id"           // sts.assumed: AWS account
	FieldExpiration         = "expiration"           // sts.assumed: credentials' expiry
	FieldDurationSeconds    = "duration_seconds"     // sts.* (SAML): session length asked for
	FieldPreviousValidUntil = "previous_valid_until" // sts.failed: expiry of the credentials still served
	FieldCached             = "cached"               // sts.failed: true when the refusal was answered from memory
	FieldRevocation         = "revocation"           // revocation.added, token.rejected: token, session or subject
	FieldRevokedAt          = "revoked_at"           // revocation.added: when the revocation takes effect
	FieldSessionID          = "session_id"           // revocation.added: hash of the revoked session ID
	FieldStream             = "stream"               // token.rejected: "ended" when an open stream was closed
	FieldUser               = "user"                 // directory.login, groups.resolved: user name or principal looked up
	FieldSource             = "source"               // groups.resolved: graph or ldap; token.issued: flow
	FieldGroups             = "groups"               // groups.resolved: number of groups found
	FieldStage              = "stage"                // signin.failed: state, idp_error, exchange or id_token
	FieldSampled            = "sampled"              // successes stood for by this one when sampling (see SampleAudit)
)
