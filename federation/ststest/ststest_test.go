package ststest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

const role = "arn:aws:iam::111122223333:role/Loan_ReadOnly"

func setup(t *testing.T, trust ...ststest.Condition) (*jwkstest.Server, *ststest.Server) {
	t.Helper()
	idp := jwkstest.Start(t)
	s := ststest.Start(t)
	s.AddOIDCProvider(ststest.OIDCProvider{URL: idp.Issuer(), ClientIDs: []string{"app"}, JWKSURL: idp.JWKSURL()})
	s.AddRole(ststest.Role{ARN: role, Trust: trust})
	return idp, s
}

func post(t *testing.T, s *ststest.Server, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func form(tok string, extra ...string) string {
	v := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {role},
		"RoleSessionName": {"amit"}, "WebIdentityToken": {tok}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v.Encode()
}

// The success body, byte for byte as STS sends it.
func TestResponseWireFormat(t *testing.T) {
	idp, s := setup(t)
	tok := idp.Mint(map[string]any{"aud": "app", "sub": "amit-sub", "https://aws.amazon.com/source_identity": "amit"})
	resp, body := post(t, s, "application/x-www-form-urlencoded; charset=utf-8", form(tok, "DurationSeconds", "900"))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/xml" {
		t.Fatalf("HTTP %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	req := s.Requests()[0]
	sess, ok := s.Session(req.AccessKeyID)
	if !ok {
		t.Fatal("no session recorded")
	}
	roleID := regexp.MustCompile(`<AssumedRoleId>(AROA[A-Z2-7]{17}:amit)</AssumedRoleId>`).FindStringSubmatch(body)
	if roleID == nil {
		t.Fatalf("no AssumedRoleId in %s", body)
	}
	want := `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amit-sub</SubjectFromWebIdentityToken>
    <Audience>app</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::111122223333:assumed-role/Loan_ReadOnly/amit</Arn>
      <AssumedRoleId>` + roleID[1] + `</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>` + sess.SessionToken + `</SessionToken>
      <SecretAccessKey>` + sess.SecretAccessKey + `</SecretAccessKey>
      <Expiration>` + sess.Expiration.Format("2006-01-02T15:04:05Z") + `</Expiration>
      <AccessKeyId>` + sess.AccessKeyID + `</AccessKeyId>
    </Credentials>
    <SourceIdentity>amit</SourceIdentity>
    <Provider>arn:aws:iam::111122223333:oidc-provider/` + strings.TrimPrefix(idp.Issuer(), "http://") + `</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>` + req.RequestID + `</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if resp.Header.Get("x-amzn-RequestId") != req.RequestID {
		t.Error("x-amzn-RequestId differs from the body's RequestId")
	}
	if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(sess.AccessKeyID) || len(sess.SecretAccessKey) != 40 {
		t.Errorf("key shapes %q / %d", sess.AccessKeyID, len(sess.SecretAccessKey))
	}
	if d := time.Until(sess.Expiration); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("expires in %s", d)
	}
	if _, ok := req.Form["WebIdentityToken"]; ok || strings.Contains(req.Form.Encode(), tok) {
		t.Error("the recorded request keeps the token")
	}
}

func TestErrorWireFormat(t *testing.T) {
	idp, s := setup(t, ststest.Condition{Op: ststest.StringEquals, Key: ststest.ClaimKey("http://nowhere", "sub"), Values: []string{"x"}})
	tok := idp.Mint(map[string]any{"aud": "app", "sub": "amit"})
	resp, body := post(t, s, "application/x-www-form-urlencoded", form(tok))
	reqID := s.Requests()[0].RequestID
	want := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message>
  </Error>
  <RequestId>` + reqID + `</RequestId>
</ErrorResponse>
`
	if resp.StatusCode != 403 || body != want {
		t.Errorf("HTTP %d\n%s\nwant\n%s", resp.StatusCode, body, want)
	}

	s.FailNext("InternalFailure", 1)
	resp, body = post(t, s, "application/x-www-form-urlencoded", form(tok))
	if resp.StatusCode != 500 || !strings.Contains(body, "<Type>Receiver</Type>") {
		t.Errorf("HTTP %d %s", resp.StatusCode, body)
	}
}

// Every STS error code arrives at the real SDK client as that code.
func TestSDKParsesErrors(t *testing.T) {
	idp, s := setup(t)
	tok := idp.Mint(map[string]any{"aud": "app", "sub": "amit"})
	for _, code := range []string{"InvalidIdentityToken", "IDPCommunicationError", "ExpiredTokenException", "IDPRejectedClaim",
		"AccessDenied", "MalformedPolicyDocument", "PackedPolicyTooLarge", "RegionDisabledException", "Throttling", "ServiceUnavailable"} {
		s.FailNext(code, 1)
		_, err := s.Client().AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role), RoleSessionName: aws.String("amit"), WebIdentityToken: aws.String(tok)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code {
			t.Errorf("%s: %v", code, err)
		}
		if got := s.Requests()[len(s.Requests())-1].Status; got != ststest.Status(code) {
			t.Errorf("%s answered %d", code, got)
		}
	}
}

func TestRequestValidation(t *testing.T) {
	idp, s := setup(t)
	tok := idp.Mint(map[string]any{"aud": "app", "sub": "amit"})
	tests := []struct {
		name, contentType, body, code string
	}{
		{"JSON body", "application/json", `{}`, "InvalidAction"},
		{"wrong version", "application/x-www-form-urlencoded", form(tok, "Version", "2012-01-01"), "InvalidAction"},
		{"other action", "application/x-www-form-urlencoded", form(tok, "Action", "GetCallerIdentity"), "InvalidAction"},
		{"session name with a space", "application/x-www-form-urlencoded", form(tok, "RoleSessionName", "amit r"), "ValidationError"},
		{"session name too long", "application/x-www-form-urlencoded", form(tok, "RoleSessionName", strings.Repeat("a", 65)), "ValidationError"},
		{"duration too short", "application/x-www-form-urlencoded", form(tok, "DurationSeconds", "899"), "ValidationError"},
		{"duration above role max", "application/x-www-form-urlencoded", form(tok, "DurationSeconds", "7200"), "ValidationError"},
		{"token too short", "application/x-www-form-urlencoded", form("abc"), "ValidationError"},
		{"role ARN too short", "application/x-www-form-urlencoded", form(tok, "RoleArn", "arn:aws:iam::1:r"), "ValidationError"},
		{"not a JWT", "application/x-www-form-urlencoded", form("opaque-access-token"), "InvalidIdentityToken"},
		{"bad policy", "application/x-www-form-urlencoded", form(tok, "Policy", `{"Statement":[]}`), "MalformedPolicyDocument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, s, tc.contentType, tc.body)
			if resp.StatusCode != ststest.Status(tc.code) || !strings.Contains(body, "<Code>"+tc.code+"</Code>") {
				t.Errorf("HTTP %d %s, want %s", resp.StatusCode, body, tc.code)
			}
		})
	}
	resp, err := http.Get(s.URL + "/?Action=AssumeRoleWithWebIdentity")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("GET answered %d", resp.StatusCode)
	}
}

func TestTokenValidation(t *testing.T) {
	idp, s := setup(t)
	other := jwkstest.Start(t)
	tests := []struct {
		name string
		tok  string
		code string
	}{
		{"valid", idp.Mint(map[string]any{"aud": "app", "sub": "amit"}), ""},
		{"audience not in client list", idp.Mint(map[string]any{"aud": "3c6e1a2b-7d4f-4e8a-9b0c-1d2e3f4a5b61"}), "InvalidIdentityToken"},
		{"unregistered issuer", other.Mint(map[string]any{"aud": "app"}), "InvalidIdentityToken"},
		{"issuer claimed, other key", other.Mint(map[string]any{"aud": "app", "iss": idp.Issuer()}), "InvalidIdentityToken"},
		{"no iss", idp.Mint(map[string]any{"aud": "app", "iss": nil}), "InvalidIdentityToken"},
		{"expired", idp.Mint(map[string]any{"aud": "app", "exp": time.Now().Add(-time.Second).Unix()}), "ExpiredTokenException"},
		{"not yet valid", idp.Mint(map[string]any{"aud": "app", "nbf": time.Now().Add(time.Hour).Unix()}), "InvalidIdentityToken"},
		{"alg none", unsigned(idp.Mint(map[string]any{"aud": "app"})), "InvalidIdentityToken"},
		{"bad tags claim", idp.Mint(map[string]any{"aud": "app", "https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"a": []string{"1", "2"}}}}), "InvalidIdentityToken"},
		{"aws: source identity", idp.Mint(map[string]any{"aud": "app", "https://aws.amazon.com/source_identity": "aws:x"}), "InvalidIdentityToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, s, "application/x-www-form-urlencoded", form(tc.tok))
			if tc.code == "" {
				if resp.StatusCode != 200 {
					t.Fatalf("HTTP %d %s", resp.StatusCode, body)
				}
				return
			}
			if !strings.Contains(body, "<Code>"+tc.code+"</Code>") {
				t.Errorf("%s, want %s", body, tc.code)
			}
			if strings.Contains(body, tc.tok) {
				t.Error("the error echoes the token")
			}
		})
	}
}

func unsigned(tok string) string {
	parts := strings.Split(tok, ".")
	return "eyJhbGciOiJub25lIn0." + parts[1] + "."
}

func TestTrustConditions(t *testing.T) {
	idp := jwkstest.Start(t)
	k := func(claim string) string { return ststest.ClaimKey(idp.Issuer(), claim) }
	tags := map[string]any{"principal_tags": map[string]any{"Group": []string{"Lending_RM"}}}
	tests := []struct {
		name   string
		cond   ststest.Condition
		claims map[string]any
		ok     bool
	}{
		{"sub equals", ststest.Condition{Op: ststest.StringEquals, Key: k("sub"), Values: []string{"amit"}}, nil, true},
		{"sub differs", ststest.Condition{Op: ststest.StringEquals, Key: k("sub"), Values: []string{"priya"}}, nil, false},
		{"sub like", ststest.Condition{Op: ststest.StringLike, Key: k("sub"), Values: []string{"am*"}}, nil, true},
		{"aud is azp when present", ststest.Condition{Op: ststest.StringEquals, Key: k("aud"), Values: []string{"app"}}, map[string]any{"azp": "cli"}, false},
		{"aud is azp: matches", ststest.Condition{Op: ststest.StringEquals, Key: k("aud"), Values: []string{"cli"}}, map[string]any{"azp": "cli"}, true},
		{"oaud is aud", ststest.Condition{Op: ststest.StringEquals, Key: k("oaud"), Values: []string{"app"}}, map[string]any{"azp": "cli"}, true},
		{"amr any value", ststest.Condition{Op: ststest.ForAnyValueStringEquals, Key: k("amr"), Values: []string{"mfa"}}, map[string]any{"amr": []string{"pwd", "mfa"}}, true},
		{"amr all values", ststest.Condition{Op: ststest.StringEquals, Key: k("amr"), Values: []string{"mfa"}}, map[string]any{"amr": []string{"pwd", "mfa"}}, false},
		{"no groups key in IAM", ststest.Condition{Op: ststest.ForAnyValueStringEquals, Key: k("groups"), Values: []string{"Lending_RM"}}, map[string]any{"groups": []string{"Lending_RM"}}, false},
		{"group as session tag", ststest.Condition{Op: ststest.StringEquals, Key: "aws:RequestTag/group", Values: []string{"Lending_RM"}}, map[string]any{"https://aws.amazon.com/tags": tags}, true},
		{"session tag missing", ststest.Condition{Op: ststest.StringEquals, Key: "aws:RequestTag/Group", Values: []string{"Lending_RM"}}, nil, false},
		{"session name", ststest.Condition{Op: ststest.StringEquals, Key: "sts:RoleSessionName", Values: []string{"amit"}}, nil, true},
		{"other provider's key", ststest.Condition{Op: ststest.StringEquals, Key: "example.com:sub", Values: []string{"amit"}}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ststest.Start(t)
			s.AddOIDCProvider(ststest.OIDCProvider{URL: idp.Issuer(), ClientIDs: []string{"app"}, JWKSURL: idp.JWKSURL()})
			s.AddRole(ststest.Role{ARN: role, Trust: []ststest.Condition{tc.cond}})
			c := map[string]any{"aud": "app", "sub": "amit"}
			for k, v := range tc.claims {
				c[k] = v
			}
			resp, body := post(t, s, "application/x-www-form-urlencoded", form(idp.Mint(c)))
			if got := resp.StatusCode == 200; got != tc.ok {
				t.Errorf("allowed %v, want %v: %s", got, tc.ok, body)
			}
		})
	}
}

func TestRoleBoundToProvider(t *testing.T) {
	idp, s := setup(t)
	s.AddRole(ststest.Role{ARN: role, Provider: "https://token.actions.githubusercontent.com"})
	resp, _ := post(t, s, "application/x-www-form-urlencoded", form(idp.Mint(map[string]any{"aud": "app"})))
	if resp.StatusCode != 403 {
		t.Errorf("a role trusting another provider answered %d", resp.StatusCode)
	}
}

func TestAddPanicsOnBadInput(t *testing.T) {
	s := ststest.Start(t)
	for name, fn := range map[string]func(){
		"http issuer off loopback": func() { s.AddOIDCProvider(ststest.OIDCProvider{URL: "http://idp.example", ClientIDs: []string{"a"}}) },
		"no client IDs":            func() { s.AddOIDCProvider(ststest.OIDCProvider{URL: "https://idp.example"}) },
		"other account":            func() { s.AddRole(ststest.Role{ARN: "arn:aws:iam::999999999999:role/x"}) },
		"max session too long":     func() { s.AddRole(ststest.Role{ARN: role, MaxSessionDuration: 13 * time.Hour}) },
		"unknown operator":         func() { s.AddRole(ststest.Role{ARN: role, Trust: []ststest.Condition{{Op: "StringNotEquals"}}}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

func TestAssumeRoleChaining(t *testing.T) {
	idp, s := setup(t)
	const target = "arn:aws:iam::111122223333:role/Target"
	s.AddRole(ststest.Role{ARN: target, TrustedRoles: []string{role}})
	tok := idp.Mint(map[string]any{"aud": "app", "sub": "amit", "https://aws.amazon.com/source_identity": "amit",
		"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"Dept": []string{"Lending"}}, "transitive_tag_keys": []string{"Dept"}}})
	out, err := s.Client().AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String("amit"), WebIdentityToken: aws.String(tok)})
	if err != nil {
		t.Fatal(err)
	}
	first := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	as := func(c aws.Credentials) *sts.Client {
		return s.Client(func(o *sts.Options) {
			o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
		})
	}
	tests := []struct {
		name  string
		creds aws.Credentials
		in    sts.AssumeRoleInput
		code  string
	}{
		{"chained", first, sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("amit"), DurationSeconds: aws.Int32(900)}, ""},
		{"unknown key", aws.Credentials{AccessKeyID: "ASIAUNKNOWN", SecretAccessKey: "x", SessionToken: "y"}, sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("amit")}, "InvalidClientTokenId"},
		{"wrong session token", aws.Credentials{AccessKeyID: first.AccessKeyID, SecretAccessKey: first.SecretAccessKey, SessionToken: "y"}, sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("amit")}, "InvalidClientTokenId"},
		{"not trusted", first, sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("amit")}, "AccessDenied"},
		{"over an hour", first, sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("amit"), DurationSeconds: aws.Int32(3601)}, "ValidationError"},
		{"source identity changed", first, sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("amit"), SourceIdentity: aws.String("priya")}, "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := as(tc.creds).AssumeRole(context.Background(), &tc.in)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				sess, _ := s.Session(*out.Credentials.AccessKeyId)
				if sess.SourceIdentity != "amit" || sess.Tags["Dept"] != "Lending" || aws.ToString(out.SourceIdentity) != "amit" {
					t.Errorf("chained session %+v", sess)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Errorf("error %v, want %s", err, tc.code)
			}
		})
	}
	resp, body := post(t, s, "application/x-www-form-urlencoded", "Action=AssumeRole&Version=2011-06-15&RoleArn="+url.QueryEscape(target)+"&RoleSessionName=x")
	if resp.StatusCode != 403 || !strings.Contains(body, "<Code>MissingAuthenticationToken</Code>") {
		t.Errorf("unsigned AssumeRole: HTTP %d %s", resp.StatusCode, body)
	}
}

func TestSessionFormatRedacts(t *testing.T) {
	s := ststest.Session{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret-key", SessionToken: "session-token"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, "secret-key") || strings.Contains(out, "session-token") || !strings.Contains(out, "ASIAEXAMPLE") {
			t.Errorf("%s: %s", verb, out)
		}
	}
}
