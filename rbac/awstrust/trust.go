package awstrust

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/rbac"
)

// Errors. Each is wrapped with detail; match with errors.Is.
var (
	// ErrUnsupported (class malformed): a grant IAM cannot federate (an
	// AWS role granted through an issuer that is not an https OIDC
	// issuer).
	ErrUnsupported = reason.New(reason.Malformed, "awstrust: grant IAM cannot enforce")
	// ErrUnexpectedDocument (class malformed): a trust policy that is not
	// an IAM policy document this package understands.
	ErrUnexpectedDocument = reason.New(reason.Malformed, "awstrust: unexpected trust policy document")
)

// errInvalidOptions: options that would generate a trust policy wider than
// the grant (no audience for an OIDC issuer) or malformed ARNs.
var errInvalidOptions = fmt.Errorf("awstrust: %w", idbridge.ErrInvalidOptions)

// SAMLAudience is the SAML:aud every assertion for the AWS console and
// STS carries.
const SAMLAudience = "https://signin.aws.amazon.com/saml"

// Options configure [Generate].
type Options struct {
	// Audiences, per policy issuer name, are the aud values of the tokens
	// the SDK sends to STS (the client ID of the app registration whose
	// tokens federation exchanges). Required for every issuer that grants
	// an AWS role: without an aud condition the role trusts every client
	// of the IdP.
	Audiences map[string][]string
	// Subjects, per role ARN, pin the role to these sub values (the
	// members of the granted groups, as the IGA tool lists them). Empty
	// leaves sub open: IAM cannot test groups, so federation.RoleFor is
	// then what keeps non-members out.
	Subjects map[string][]string
	// ProviderARNs, per policy issuer name, override the IAM OIDC
	// provider ARN, which defaults to arn:<partition>:iam::<role's
	// account>:oidc-provider/<issuer host and path>.
	ProviderARNs map[string]string
	// SAMLProviders, per role ARN or "*" for all, add a statement for
	// AssumeRoleWithSAML through this IAM SAML provider.
	SAMLProviders map[string]string
}

// Trust is the trust policy of one IAM role that admits exactly what the
// rbac policy grants, as far as IAM can express it.
type Trust struct {
	RoleARN  string   `json:"role_arn"`
	Mappings []string `json:"mappings"` // the mappings that grant the role
	// Granted lists who the policy grants the role to, as the policy
	// explains it: "group Lending_RM (entra)".
	Granted  []string `json:"granted"`
	Document Document `json:"document"`
	// NotEnforced lists what the grant requires and IAM cannot express;
	// the SDK (federation.RoleFor on an rbac decision) enforces it before
	// calling STS, and the IGA tool must keep it true for SAML.
	NotEnforced []string `json:"not_enforced"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a trust policy.
type Statement struct {
	Sid       string                         `json:"Sid,omitempty"`
	Effect    string                         `json:"Effect"`
	Principal Principal                      `json:"Principal"`
	Action    []string                       `json:"Action"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// Principal is a trust policy's federated principal.
type Principal struct {
	Federated string `json:"Federated"`
}

var (
	roleARNRe = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]):iam::([0-9]{12}):role/`)
	oidcARNRe = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]):iam::[0-9]{12}:oidc-provider/[^\s*?]+$`)
	samlARNRe = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]):iam::[0-9]{12}:saml-provider/[\w+=,.@-]{1,128}$`)
)

// Generate derives one trust policy per AWS role the policy grants, in
// policy order.
func Generate(inv rbac.Inventory, o Options) ([]Trust, error) {
	issuers := map[string]rbac.InventoryIssuer{}
	for _, is := range inv.Issuers {
		issuers[is.Name] = is
	}
	groupName := map[string]string{}
	for _, g := range inv.Groups {
		groupName[g.Issuer+"\x00"+g.ID] = g.Name
	}
	var out []Trust
	index := map[string]int{}
	for _, m := range inv.Mappings {
		for _, a := range m.AWS {
			i, ok := index[a.RoleARN]
			if !ok {
				i = len(out)
				index[a.RoleARN] = i
				out = append(out, Trust{RoleARN: a.RoleARN, Document: Document{Version: "2012-10-17"}})
			}
			t := &out[i]
			t.Mappings = append(t.Mappings, m.ID)
			for _, cl := range m.When {
				var who []string
				for _, id := range cl.Groups {
					who = append(who, "group "+groupName[cl.Issuer+"\x00"+id])
				}
				who = append(who, cl.Tests...)
				t.Granted = append(t.Granted, strings.Join(who, " and ")+" ("+cl.Issuer+")")
				if err := t.admit(issuers[cl.Issuer], a, o); err != nil {
					return nil, err
				}
				for _, id := range cl.Groups {
					t.note(fmt.Sprintf("group %s: IAM has no condition key for groups", groupName[cl.Issuer+"\x00"+id]))
				}
				for _, test := range cl.Tests {
					switch {
					case test == "mfa":
						t.note("mfa: IAM's amr condition key exists only for Amazon Cognito identity pools")
					case strings.HasPrefix(test, "issuer "):
					default:
						t.note(test + ": IAM has no condition key for this claim")
					}
				}
			}
			if sam := o.samlProvider(a.RoleARN); sam != "" {
				if !samlARNRe.MatchString(sam) {
					return nil, fmt.Errorf("%w: malformed SAML provider ARN %q", errInvalidOptions, sam)
				}
				t.add(Statement{Sid: "SAML", Effect: "Allow", Principal: Principal{Federated: sam},
					Action:    actions("sts:AssumeRoleWithSAML", a),
					Condition: map[string]map[string][]string{"StringEquals": {"SAML:aud": {SAMLAudience}}}})
				t.note("SAML: the assertion's Role attribute must pair this role with " + sam +
					" only for the granted groups (the IdP's app assignment); IAM checks the pair, not the groups")
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].NotEnforced)
		out[i].NotEnforced = slices.Compact(out[i].NotEnforced)
		if out[i].NotEnforced == nil {
			out[i].NotEnforced = []string{}
		}
	}
	return out, nil
}

func (o Options) samlProvider(role string) string {
	if p := o.SAMLProviders[role]; p != "" {
		return p
	}
	return o.SAMLProviders["*"]
}

func (t *Trust) note(s string) { t.NotEnforced = append(t.NotEnforced, s) }

// admit adds the web identity statement(s) for one issuer.
func (t *Trust) admit(is rbac.InventoryIssuer, a rbac.AWSRole, o Options) error {
	u, err := url.Parse(is.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: %s is granted through issuer %q, which is not an https OIDC issuer IAM can trust", ErrUnsupported, a.RoleARN, is.Name)
	}
	auds, err := audiences(is, a, o)
	if err != nil {
		return err
	}
	m := roleARNRe.FindStringSubmatch(a.RoleARN)
	if m == nil {
		return fmt.Errorf("%w: malformed role ARN %q", errInvalidOptions, a.RoleARN)
	}
	hosts, err := providerHosts(u, is)
	if err != nil {
		return err
	}
	subs := o.Subjects[a.RoleARN]
	for _, h := range hosts {
		arn := "arn:" + m[1] + ":iam::" + m[2] + ":oidc-provider/" + h
		if p := o.ProviderARNs[is.Name]; p != "" {
			if len(hosts) > 1 {
				return fmt.Errorf("%w: ProviderARNs[%q] cannot name one provider for a multi-tenant issuer", errInvalidOptions, is.Name)
			}
			if !oidcARNRe.MatchString(p) || !strings.HasSuffix(p, ":oidc-provider/"+h) {
				return fmt.Errorf("%w: provider ARN %q is not the IAM OIDC provider of %s", errInvalidOptions, p, h)
			}
			arn = p
		}
		t.add(Statement{Effect: "Allow", Principal: Principal{Federated: arn}, Action: actions("sts:AssumeRoleWithWebIdentity", a),
			Condition: webIdentityConditions(h, auds, subs, a)})
	}
	if len(subs) == 0 {
		t.note("sub: not pinned (no subjects given); any user with a token for the audience can call STS directly")
	}
	return nil
}

// audiences returns the exact audiences the options give for an issuer.
func audiences(is rbac.InventoryIssuer, a rbac.AWSRole, o Options) ([]string, error) {
	auds := o.Audiences[is.Name]
	if len(auds) == 0 {
		return nil, fmt.Errorf("%w: no audience for issuer %q (the client ID of the tokens sent to STS); without one %s would trust every client of the IdP", errInvalidOptions, is.Name, a.RoleARN)
	}
	for _, aud := range auds {
		if aud == "" || strings.ContainsAny(aud, "*?") {
			return nil, fmt.Errorf("%w: audience %q for issuer %q: an exact value is required", errInvalidOptions, aud, is.Name)
		}
	}
	return auds, nil
}

// providerHosts returns the IAM OIDC provider name(s) of an issuer: its
// host and path, once per listed tenant for a {tenantid} issuer.
func providerHosts(u *url.URL, is rbac.InventoryIssuer) ([]string, error) {
	h := u.Host + strings.TrimSuffix(u.Path, "/")
	if !strings.Contains(h, "{tenantid}") {
		return []string{h}, nil
	}
	var hosts []string
	for _, tid := range is.Tenants {
		hosts = append(hosts, strings.ReplaceAll(h, "{tenantid}", tid))
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%w: issuer %q is multi-tenant and lists no tenants", ErrUnsupported, is.Name)
	}
	return hosts, nil
}

// webIdentityConditions pins audience, subjects, source identity and
// session tags for provider h.
func webIdentityConditions(h string, auds, subs []string, a rbac.AWSRole) map[string]map[string][]string {
	cond := map[string][]string{h + ":aud": slices.Clone(auds)}
	if len(subs) > 0 {
		cond[h+":sub"] = slices.Clone(subs)
	}
	conds := map[string]map[string][]string{"StringEquals": cond}
	if a.SourceIdentityClaim != "" {
		// The session must carry a SourceIdentity: CloudTrail then names
		// the person through every chained role.
		conds["Null"] = map[string][]string{"sts:SourceIdentity": {"false"}}
	}
	if len(a.SessionTags) > 0 {
		keys := make([]string, 0, len(a.SessionTags))
		for k, v := range a.SessionTags {
			keys = append(keys, k)
			cond["aws:RequestTag/"+k] = []string{v}
		}
		slices.Sort(keys)
		conds["ForAllValues:StringEquals"] = map[string][]string{"aws:TagKeys": keys}
	}
	return conds
}

func actions(assume string, a rbac.AWSRole) []string {
	out := []string{assume}
	if a.SourceIdentityClaim != "" {
		out = append(out, "sts:SetSourceIdentity")
	}
	if len(a.SessionTags) > 0 {
		out = append(out, "sts:TagSession")
	}
	return out
}

// add appends s unless an equal statement is there.
func (t *Trust) add(s Statement) {
	for _, o := range t.Document.Statement {
		if equalStatement(o, s) {
			return
		}
	}
	t.Document.Statement = append(t.Document.Statement, s)
}

func equalStatement(a, b Statement) bool {
	if a.Sid != b.Sid || a.Effect != b.Effect || a.Principal != b.Principal || !slices.Equal(a.Action, b.Action) || len(a.Condition) != len(b.Condition) {
		return false
	}
	for op, kv := range a.Condition {
		if len(kv) != len(b.Condition[op]) {
			return false
		}
		for k, v := range kv {
			if !slices.Equal(v, b.Condition[op][k]) {
				return false
			}
		}
	}
	return true
}
