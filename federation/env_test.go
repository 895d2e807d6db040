package federation_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation"
	"github.com/idbridge/idbridge/federation/ststest"
)

const (
	workloadRole = "arn:aws:iam::111122223333:role/analytics-s3"
	workloadSub  = "system:serviceaccount:payments:analytics"
)

// irsaEnv registers the cluster's OIDC issuer for audience
// sts.amazonaws.com, as EKS does, and a role for the payments namespace.
func irsaEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	e.sts.AddOIDCProvider(ststest.OIDCProvider{URL: e.idp.Issuer(), ClientIDs: []string{"sts.amazonaws.com"}, JWKSURL: e.idp.JWKSURL()})
	e.sts.AddRole(ststest.Role{ARN: workloadRole, Trust: []ststest.Condition{
		{Op: ststest.StringEquals, Key: ststest.ClaimKey(e.idp.Issuer(), "aud"), Values: []string{"sts.amazonaws.com"}},
		{Op: ststest.StringLike, Key: ststest.ClaimKey(e.idp.Issuer(), "sub"), Values: []string{"system:serviceaccount:payments:*"}},
	}})
	file := filepath.Join(t.TempDir(), "token")
	writeToken(t, file, e.idp.Mint(map[string]any{"aud": "sts.amazonaws.com", "sub": workloadSub}))
	return e, file
}

func writeToken(t *testing.T, file, tok string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFromEnvironment(t *testing.T) {
	e, file := irsaEnv(t)
	t.Setenv(federation.EnvTokenFile, file)
	t.Setenv(federation.EnvRoleARN, workloadRole)
	t.Setenv(federation.EnvSessionName, "")

	p, err := federation.FromEnvironment(e.client)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := p.Retrieve(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.sts.Session(creds.AccessKeyID)
	if s.RoleARN != workloadRole || s.SessionName != "system_serviceaccount_payments_analytics-d7b5435ad3389a96" || s.Subject != workloadSub {
		t.Errorf("session %+v", s)
	}

	// Kubernetes rotates the projected token: the next exchange reads it.
	writeToken(t, file, e.idp.Mint(map[string]any{"aud": "sts.amazonaws.com", "sub": workloadSub, "jti": "rotated-token"}))
	p.Invalidate()
	if _, err := p.Retrieve(testContext(t)); err != nil {
		t.Fatal(err)
	}
	reqs := e.sts.Requests()
	if len(reqs) != 2 || reqs[0].TokenSHA256 == reqs[1].TokenSHA256 {
		t.Errorf("the rotated token was not sent (%d requests)", len(reqs))
	}

	// AWS_ROLE_SESSION_NAME names the session; options still override.
	t.Setenv(federation.EnvSessionName, "analytics-pod-1")
	for _, tc := range []struct {
		opt  string
		want string
	}{{"", "analytics-pod-1"}, {"override", "override"}} {
		p, err := federation.FromEnvironment(e.client, func(o *federation.Options) {
			if tc.opt != "" {
				o.RoleSessionName = tc.opt
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.Retrieve(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := e.sts.Session(c.AccessKeyID); s.SessionName != tc.want {
			t.Errorf("session name %q, want %q", s.SessionName, tc.want)
		}
	}
}

func TestFromEnvironmentFailures(t *testing.T) {
	e, file := irsaEnv(t)
	tests := []struct {
		name     string
		file     string
		role     string
		atNew    bool
		sentinel error
		reason   idbridge.Reason
		text     string // the whole error text, when asserted
	}{
		{name: "no token file variable", role: workloadRole, atNew: true, sentinel: idbridge.ErrInvalidOptions, reason: "invalid_options"},
		{name: "no role variable", file: file, atNew: true, sentinel: idbridge.ErrInvalidOptions, reason: "invalid_options"},
		{name: "malformed role", file: file, role: "analytics-s3", atNew: true, sentinel: idbridge.ErrInvalidOptions, reason: "invalid_options"},
		{name: "file missing", file: file + ".missing", role: workloadRole, sentinel: idbridge.ErrInvalidOptions, reason: "invalid_options",
			text: "federation: invalid options: AWS_WEB_IDENTITY_TOKEN_FILE: token: invalid options: federated token file " + file + ".missing does not exist (is the projected service account token mounted?) [role " + workloadRole + "]"},
		{name: "file is a directory", file: t.TempDir(), role: workloadRole, sentinel: idbridge.ErrInvalidOptions, reason: "invalid_options"},
		{name: "token expired in file", file: filepath.Join(t.TempDir(), "old"), role: workloadRole, sentinel: federation.ErrTokenSource, reason: "expired"},
		{name: "namespace not trusted", file: filepath.Join(t.TempDir(), "other"), role: workloadRole, sentinel: federation.ErrAccessDenied, reason: "forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.name {
			case "token expired in file":
				writeToken(t, tc.file, e.idp.Mint(map[string]any{"aud": "sts.amazonaws.com", "sub": workloadSub, "exp": time.Now().Add(-time.Minute).Unix()}))
			case "namespace not trusted":
				writeToken(t, tc.file, e.idp.Mint(map[string]any{"aud": "sts.amazonaws.com", "sub": "system:serviceaccount:default:web"}))
			}
			t.Setenv(federation.EnvTokenFile, tc.file)
			t.Setenv(federation.EnvRoleARN, tc.role)
			p, err := federation.FromEnvironment(e.client)
			if !tc.atNew {
				if err != nil {
					t.Fatal(err)
				}
				_, err = p.Retrieve(testContext(t))
			}
			if !errors.Is(err, tc.sentinel) || idbridge.ReasonOf(err) != tc.reason {
				t.Fatalf("error %v (reason %q), want %v / %s", err, idbridge.ReasonOf(err), tc.sentinel, tc.reason)
			}
			if tc.text != "" && err.Error() != tc.text {
				t.Errorf("error text\n%s\nwant\n%s", err, tc.text)
			}
			if strings.Contains(err.Error(), "eyJ") {
				t.Error("the error quotes a token")
			}
		})
	}
}
