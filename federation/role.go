package federation

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
)

// MaxChainedDuration is the longest session STS grants to a role assumed
// with credentials of another assumed role (role chaining).
const MaxChainedDuration = time.Hour

// Role is one AWS role a user may assume, as an rbac decision grants it,
// made ready for STS: a valid session name, a duration STS accepts, the
// session attributes. Build it with [RoleFor] or [RoleFromGrant]; it is a
// value, so a caller may adjust it (clear SessionTags, say) before use.
type Role struct {
	// ARN is the IAM role.
	ARN string
	// Duration is clamped to [MinDuration, MaxDuration]; zero leaves it to
	// STS (one hour).
	Duration time.Duration
	// SessionName is the user's oid (else sub), made valid with
	// [SessionName]: CloudTrail then names the person, by an ID that does
	// not change when their name or e-mail does.
	SessionName string
	// SourceIdentity is the value of the grant's source identity claim,
	// made valid with [SessionName] (which also rules out the reserved
	// "aws:" prefix). It survives role chaining, so every
	// action is tied to the person; "" for none.
	SourceIdentity string
	// SessionTags are the grant's session tags (a copy).
	SessionTags map[string]string
	// TransitiveTagKeys are the tags that survive role chaining. The rbac
	// policy does not declare them, so RoleFor leaves this nil.
	TransitiveTagKeys []string
	// Mapping is the rbac mapping that granted the role, for audit.
	Mapping string
}

// RoleFor picks the AWS role of decision d for the user whose validated
// claims c it was made from: roleARN when it is non-empty (it must be one
// of the decision's grants), else the single role granted. It fails with an
// error matching [ErrNoRole] when the decision denies (carrying the
// decision's reason, such as revoked for a leaver), grants no AWS role, does
// not grant roleARN, or grants several and roleARN is empty.
func RoleFor(d rbac.Decision, c *idbridge.Claims, roleARN string) (Role, error) {
	if err := d.Err(); err != nil {
		return Role{}, &Error{Err: ErrNoRole, RoleARN: roleARN, Detail: "the decision denies access", Cause: err}
	}
	grants := d.AWSRoles()
	if roleARN == "" {
		switch len(grants) {
		case 0:
			return Role{}, &Error{Err: ErrNoRole, Detail: "the decision grants no AWS role"}
		case 1:
			return RoleFromGrant(grants[0], c), nil
		}
		arns := make([]string, len(grants))
		for i, g := range grants {
			arns[i] = g.RoleARN
		}
		return Role{}, &Error{Err: ErrNoRole, Detail: "the decision grants several AWS roles (" + strings.Join(arns, ", ") + "); name one"}
	}
	for _, g := range grants {
		if g.RoleARN == roleARN {
			return RoleFromGrant(g, c), nil
		}
	}
	return Role{}, &Error{Err: ErrNoRole, RoleARN: roleARN, Detail: "the decision does not grant this role"}
}

// RoleFromGrant turns one rbac grant into a Role for the user with claims c
// (nil leaves SessionName empty, so that the provider derives it from each
// token).
func RoleFromGrant(g rbac.AWSRole, c *idbridge.Claims) Role {
	r := Role{
		ARN:            g.RoleARN,
		Duration:       clampDuration(g.Duration),
		SourceIdentity: SessionName(g.SourceIdentity),
		SessionTags:    maps.Clone(g.SessionTags),
		Mapping:        g.Mapping,
	}
	if c != nil {
		switch {
		case c.ObjectID != "":
			r.SessionName = SessionName(c.ObjectID)
		case c.Subject != "":
			r.SessionName = SessionName(c.Subject)
		}
	}
	return r
}

// Options configures a [Provider] for the role: pass the method value to
// NewProvider, as in NewProvider(client, r.ARN, src, r.Options).
//
// It sets the session name and duration, and SessionTags,
// TransitiveTagKeys and SourceIdentity as what the token must carry: with
// AssumeRoleWithWebIdentity they reach STS only as claims of the token (see
// [Options].SessionTags). If your IdP cannot emit those claims (Microsoft
// Entra ID's claims are strings and string lists, so the nested
// https://aws.amazon.com/tags object is out of reach), clear them on the
// Role and use [Role.AssumeRoleOptions] for a second hop.
func (r Role) Options(o *Options) {
	if r.SessionName != "" {
		o.RoleSessionName = r.SessionName
	}
	o.Duration = r.Duration
	o.SessionTags = maps.Clone(r.SessionTags)
	o.TransitiveTagKeys = slices.Clone(r.TransitiveTagKeys)
	o.SourceIdentity = r.SourceIdentity
}

// AssumeRoleOptions configures stscreds.NewAssumeRoleProvider to assume
// the role from credentials of an entry role that the web identity token
// was exchanged for (role chaining). AssumeRole, unlike
// AssumeRoleWithWebIdentity, takes session tags, transitive tag keys and a
// source identity as parameters, so they need no support from the IdP.
// The entry role must allow sts:AssumeRole, sts:TagSession and
// sts:SetSourceIdentity on this role; a chained session lasts at most
// MaxChainedDuration, so Duration is capped to it.
//
//	entry, _ := federation.NewProvider(stsClient, entryRoleARN, src)
//	chained := sts.New(sts.Options{Region: region, Credentials: entry})
//	creds := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(chained, r.ARN, r.AssumeRoleOptions))
//
// Wrap chained with [AuditAssumeRole] to record the hop as sts.assumed.
func (r Role) AssumeRoleOptions(o *stscreds.AssumeRoleOptions) {
	if r.SessionName != "" {
		o.RoleSessionName = r.SessionName
	}
	o.Duration = min(r.Duration, MaxChainedDuration)
	if o.Duration == 0 {
		o.Duration = MaxChainedDuration
	}
	o.Tags = nil
	for _, k := range slices.Sorted(maps.Keys(r.SessionTags)) {
		o.Tags = append(o.Tags, types.Tag{Key: aws.String(k), Value: aws.String(r.SessionTags[k])})
	}
	o.TransitiveTagKeys = slices.Clone(r.TransitiveTagKeys)
	if r.SourceIdentity != "" {
		o.SourceIdentity = aws.String(r.SourceIdentity)
	}
}
