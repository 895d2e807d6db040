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
	if !roleOK || !listsPair(a, roleARN, principal) {
		return nil, fail("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
	}
	names := a.Attributes["https://aws.amazon.com/SAML/Attributes/RoleSessionName"]
	if len(names) != 1 || !sessionNameRe.MatchString(names[0]) || len(names[0]) < 2 || len(names[0]) > 64 {
		return nil, fail("InvalidIdentityToken", "Missing or invalid RoleSessionName attribute")
	}
	duration, e := samlDuration(form.Get("DurationSeconds"), a)
	if e != nil {
		return nil, e
	}
	maxSession := role.MaxSessionDuration
	if maxSession == 0 {
		maxSession = time.Hour
	}
	if duration > maxSession {
		return nil, fail("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	sess := s.newSession("AssumeRoleWithSAML", roleARN, names[0], s.o.Now().Add(duration))
	sess.Subject = a.NameID
	sess.Audience = "https://signin.aws.amazon.com/saml"
	sess.Provider = principal
	sess.Issuer = a.Claims.Issuer
	s.store(sess)
	return sess, nil
}

// listsPair reports whether the assertion's Role attribute lists the role
// with the SAML provider, in either order.
func listsPair(a *saml.Assertion, roleARN, principal string) bool {
	for _, pair := range a.Attributes["https://aws.amazon.com/SAML/Attributes/Role"] {
		r, p, _ := strings.Cut(pair, ",")
		if (r == roleARN && p == principal) || (p == roleARN && r == principal) {
			return true
		}
	}
	return false
}

// samlDuration is the session's duration: DurationSeconds (one hour when
// absent), bounded by the assertion's SessionDuration attribute.
func samlDuration(d string, a *saml.Assertion) (time.Duration, *stsError) {
	duration := time.Hour
	if d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return 0, fail("ValidationError", "1 validation error detected: Value '"+d+"' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200")
		}
		duration = time.Duration(n) * time.Second
	}
	if sd := a.Attributes["https://aws.amazon.com/SAML/Attributes/SessionDuration"]; len(sd) == 1 {
		if n, err := strconv.Atoi(sd[0]); err == nil && time.Duration(n)*time.Second < duration {
			duration = time.Duration(n) * time.Second
		}
	}
	return duration, nil
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
	writeEnd(w, &b, "AssumeRoleWithSAML", reqID)
}

// nameQualifier is STS's: base64 of SHA-1(issuer + account ID + provider
// name); any stable opaque value serves the fake.
func nameQualifier(s *Session) string {
	return strconv.Itoa(len(s.Issuer)) + s.Provider[strings.LastIndex(s.Provider, "/")+1:]
}
