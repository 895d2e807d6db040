package ststest_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/idbridge/idbridge/federation/ststest"
)

// The real SDK client sends the form STS expects, unsigned, and decodes
// every field of the fake's answer.
func TestSDKRoundTrip(t *testing.T) {
	idp, s := setup(t)
	tok := idp.Mint(map[string]any{"aud": "app", "sub": "amit-sub", "https://aws.amazon.com/source_identity": "amit",
		"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"Team": []string{"lending"}}}})
	const policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	const policyARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	out, err := s.Client().AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String("amit"), WebIdentityToken: aws.String(tok),
		DurationSeconds: aws.Int32(900), Policy: aws.String(policy),
		PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String(policyARN)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := s.Requests()[0]
	sess, ok := s.Session(req.AccessKeyID)
	if !ok {
		t.Fatal("no session")
	}
	// What went over the wire.
	if req.Authorization || !strings.HasPrefix(req.ContentType, "application/x-www-form-urlencoded") {
		t.Errorf("request signed %v, content type %q; want unsigned form", req.Authorization, req.ContentType)
	}
	wantForm := map[string]string{"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": role,
		"RoleSessionName": "amit", "DurationSeconds": "900", "Policy": policy, "PolicyArns.member.1.arn": policyARN}
	for k, v := range wantForm {
		if got := req.Form.Get(k); got != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if len(req.Form) != len(wantForm) {
		t.Errorf("form has %d fields (%v), want %d and the token", len(req.Form), req.Form, len(wantForm))
	}
	// What the SDK made of the answer.
	c := out.Credentials
	switch {
	case aws.ToString(c.AccessKeyId) != sess.AccessKeyID, aws.ToString(c.SecretAccessKey) != sess.SecretAccessKey,
		aws.ToString(c.SessionToken) != sess.SessionToken, !aws.ToTime(c.Expiration).Equal(sess.Expiration):
		t.Errorf("credentials %v differ from the session", sess)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != "amit-sub" || aws.ToString(out.Audience) != "app" ||
		aws.ToString(out.Provider) != s.ProviderARN(idp.Issuer()) || aws.ToString(out.SourceIdentity) != "amit" {
		t.Errorf("subject %q audience %q provider %q source identity %q", aws.ToString(out.SubjectFromWebIdentityToken),
			aws.ToString(out.Audience), aws.ToString(out.Provider), aws.ToString(out.SourceIdentity))
	}
	if u := out.AssumedRoleUser; u == nil || aws.ToString(u.Arn) != sess.AssumedRoleARN || !strings.HasSuffix(aws.ToString(u.AssumedRoleId), ":amit") {
		t.Errorf("assumed role user %+v", u)
	}
	// STS still sends PackedPolicySize, so the fake must too, though the
	// SDK marks the field deprecated.
	//lint:ignore SA1019 the wire format is what is under test
	size := out.PackedPolicySize
	if size == nil || *size != int32(sess.PackedPolicySize) || sess.PackedPolicySize == 0 {
		t.Errorf("packed policy size %v, session %d", size, sess.PackedPolicySize)
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); id != req.RequestID {
		t.Errorf("request ID %q, recorded %q", id, req.RequestID)
	}
}

// Error messages reach the SDK as STS writes them.
func TestSDKErrorMessages(t *testing.T) {
	idp, s := setup(t)
	exp := time.Now().Add(-time.Minute).Unix()
	expired := idp.Mint(map[string]any{"aud": "app", "exp": exp, "iat": exp - 60})
	call := func(tok, name string) smithy.APIError {
		t.Helper()
		_, err := s.Client().AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role), RoleSessionName: aws.String(name), WebIdentityToken: aws.String(tok)})
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%v is not an API error", err)
		}
		return ae
	}
	tests := []struct {
		name, tok, session, code, msg string
		fault                         string
	}{
		{"expired", expired, "amit", "ExpiredTokenException", "Token expired: current date/time ", ""},
		{"bad session name", idp.Mint(map[string]any{"aud": "app"}), "amit <r>", "ValidationError",
			`1 validation error detected: Value 'amit <r>' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`, ""},
		{"two problems", "abc", "a", "ValidationError",
			"2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
				"Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4", ""},
		{"region disabled", idp.Mint(map[string]any{"aud": "app"}), "amit", "RegionDisabledException",
			"STS is not activated in this region for account:" + ststest.DefaultAccountID + ". Your account administrator can activate STS in this region using the IAM Console.", "RegionDisabledException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != "" {
				s.FailNext(tc.fault, 1)
			}
			ae := call(tc.tok, tc.session)
			if ae.ErrorCode() != tc.code || !strings.HasPrefix(ae.ErrorMessage(), tc.msg) {
				t.Errorf("%s: %q\nwant %s: %q", ae.ErrorCode(), ae.ErrorMessage(), tc.code, tc.msg)
			}
		})
	}
	if ae := call(expired, "amit"); !strings.HasSuffix(ae.ErrorMessage(), "expiration date/time"+strconv.FormatInt(exp, 10)) {
		t.Errorf("expired message %q does not end with the token's exp", ae.ErrorMessage())
	}
}

// Text is escaped as STS escapes it: quotes stay literal, markup does not.
func TestValidationErrorWireFormat(t *testing.T) {
	idp, s := setup(t)
	resp, body := post(t, s, "application/x-www-form-urlencoded", form(idp.Mint(map[string]any{"aud": "app"}), "RoleSessionName", `a"b'<c>&`))
	want := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>ValidationError</Code>
    <Message>1 validation error detected: Value 'a"b'&lt;c&gt;&amp;' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*</Message>
  </Error>
  <RequestId>` + s.Requests()[0].RequestID + `</RequestId>
</ErrorResponse>
`
	if resp.StatusCode != 400 || body != want {
		t.Errorf("HTTP %d\n%s\nwant\n%s", resp.StatusCode, body, want)
	}
}
