package ststest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idbridge/idbridge/federation/saml"
)

// SAMLProvider is an IAM SAML identity provider: the IdP's metadata
// document, uploaded to IAM, under arn:aws:iam::<account>:saml-provider/<Name>.
type SAMLProvider struct {
	Name     string
	Metadata []byte
}

// AddSAMLProvider registers an IAM SAML provider and returns its ARN, the
// PrincipalArn of AssumeRoleWithSAML and the second half of the
// assertion's Role attribute values.
func (s *Server) AddSAMLProvider(p SAMLProvider) (string, error) {
	md, err := saml.ParseMetadata(p.Metadata)
	if err != nil {
		return "", err
	}
	// As AWS's sign-in endpoint: audience urn:amazon:webservices, the
	// assertion posted to https://signin.aws.amazon.com/saml, unsolicited.
	v, err := saml.NewValidator(md, "urn:amazon:webservices", "https://signin.aws.amazon.com/saml", func(o *saml.Options) {
		o.AllowIdPInitiated = true
		o.Now = s.o.Now
	})
	if err != nil {
		return "", err
	}
	arn := "arn:aws:iam::" + s.o.AccountID + ":saml-provider/" + p.Name
	s.mu.Lock()
	if s.samlProviders == nil {
		s.samlProviders = map[string]*saml.Validator{}
	}
	s.samlProviders[arn] = v
	s.mu.Unlock()
	return arn, nil
}

// assumeRoleWithSAML answers AssumeRoleWithSAML as STS does: the provider
// by PrincipalArn, the assertion validated against its metadata, the
// role,provider pair listed in the assertion's Role attribute, the session
// named by RoleSessionName and bounded by SessionDuration and the role.
func (s *Server) assumeRoleWithSAML(form url.Values) (*Session, *stsError) {
	roleARN, principal, assertion := form.Get("RoleArn"), form.Get("PrincipalArn"), form.Get("SAMLAssertion")
	switch {
	case roleARN == "":
		return nil, fail("ValidationError", "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case principal == "":
		return nil, fail("ValidationError", "1 validation error detected: Value null at 'principalArn' failed to satisfy constraint: Member must not be null")
	case len(assertion) < 4 || len(assertion) > 100000:
		return nil, fail("ValidationError", "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length between 4 and 100000")
	}
	s.mu.Lock()
	v := s.samlProviders[principal]
	role, roleOK := s.roles[roleARN]
	s.mu.Unlock()
	if v == nil {
		return nil, fail("InvalidIdentityToken", "Specified provider doesn't exist")
	}
	a, err := v.Validate(context.Background(), assertion)
	switch {
	case errors.Is(err, saml.ErrExpired):
		return nil, fail("ExpiredTokenException", "Token is expired")
	case err != nil:
		return nil, fail("InvalidIdentityToken", "Invalid SAML assertion")
	}
	listed := false
	for _, pair := range a.Attributes["https://aws.amazon.com/SAML/Attributes/Role"] {
		r, p, _ := strings.Cut(pair, ",")
		if (r == roleARN && p == principal) || (p == roleARN && r == principal) {
			listed = true
		}
	}
	if !roleOK || !listed {
		return nil, fail("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
	}
	names := a.Attributes["https://aws.amazon.com/SAML/Attributes/RoleSessionName"]
	if len(names) != 1 || !sessionNameRe.MatchString(names[0]) || len(names[0]) < 2 || len(names[0]) > 64 {
		return nil, fail("InvalidIdentityToken", "Missing or invalid RoleSessionName attribute")
	}
	duration := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return nil, fail("ValidationError", "1 validation error detected: Value '"+d+"' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200")
		}
		duration = time.Duration(n) * time.Second
	}
	if sd := a.Attributes["https://aws.amazon.com/SAML/Attributes/SessionDuration"]; len(sd) == 1 {
		if n, err := strconv.Atoi(sd[0]); err == nil && time.Duration(n)*time.Second < duration {
			duration = time.Duration(n) * time.Second
		}
	}
	maxSession := role.MaxSessionDuration
	if maxSession == 0 {
		maxSession = time.Hour
	}
	if duration > maxSession {
		return nil, fail("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	roleName := roleARN[strings.LastIndex(roleARN, "/")+1:]
	sess := Session{
		Action:          "AssumeRoleWithSAML",
		AccessKeyID:     "ASIA" + randomString(16, upperAlnum),
		SecretAccessKey: randomString(40, base64Chars),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + randomString(340, base64Chars),
		Expiration:      s.o.Now().Add(duration).UTC().Truncate(time.Second),
		RoleARN:         roleARN,
		AssumedRoleARN:  "arn:aws:sts::" + s.o.AccountID + ":assumed-role/" + roleName + "/" + names[0],
		SessionName:     names[0],
		Subject:         a.NameID,
		Audience:        "https://signin.aws.amazon.com/saml",
		Provider:        principal,
		Issuer:          a.Claims.Issuer,
	}
	s.mu.Lock()
	s.sessions[sess.AccessKeyID] = sess
	s.mu.Unlock()
	return &sess, nil
}

// writeSAMLResult writes AssumeRoleWithSAMLResponse in STS's element order.
func writeSAMLResult(w http.ResponseWriter, s *Session, reqID string) {
	var b bytes.Buffer
	b.WriteString(`<AssumeRoleWithSAMLResponse xmlns="` + xmlns + `">` + "\n")
	b.WriteString("  <AssumeRoleWithSAMLResult>\n")
	b.WriteString("    <Issuer>" + esc(s.Issuer) + "</Issuer>\n")
	writeAssumedRoleUser(&b, s)
	writeCredentials(&b, s)
	b.WriteString("    <Audience>" + esc(s.Audience) + "</Audience>\n")
	b.WriteString("    <SubjectType>persistent</SubjectType>\n")
	b.WriteString("    <NameQualifier>" + esc(nameQualifier(s)) + "</NameQualifier>\n")
	b.WriteString("    <Subject>" + esc(s.Subject) + "</Subject>\n")
	b.WriteString("  </AssumeRoleWithSAMLResult>\n")
	b.WriteString("  <ResponseMetadata>\n")
	b.WriteString("    <RequestId>" + reqID + "</RequestId>\n")
	b.WriteString("  </ResponseMetadata>\n")
	b.WriteString("</AssumeRoleWithSAMLResponse>\n")
	write(w, http.StatusOK, reqID, b.Bytes())
}

// nameQualifier is STS's: base64 of SHA-1(issuer + account ID + provider
// name); any stable opaque value serves the fake.
func nameQualifier(s *Session) string {
	return strconv.Itoa(len(s.Issuer)) + s.Provider[strings.LastIndex(s.Provider, "/")+1:]
}
