package ststest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The response bodies follow what STS sends byte for byte: the query
// protocol's XML with the 2011-06-15 namespace, two-space indentation, a
// trailing newline, Content-Type text/xml and the request ID both in
// x-amzn-RequestId and in the body.

// esc escapes text content as STS does: &, < and > only. Quotes,
// apostrophes and newlines stay literal (STS's validation messages quote
// values with '...'), where encoding/xml would write &#39; and &#xA;.
// Characters XML 1.0 cannot carry become U+FFFD, so that a claim value full
// of control characters still yields a well-formed body.
func esc(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF:
			b.WriteRune(r)
		default:
			b.WriteRune('\uFFFD')
		}
	}
	return b.String()
}

func writeResult(w http.ResponseWriter, s *Session, reqID string) {
	if s.Action == "AssumeRole" {
		writeAssumeRoleResult(w, s, reqID)
		return
	}
	if s.Action == "AssumeRoleWithSAML" {
		writeSAMLResult(w, s, reqID)
		return
	}
	var b bytes.Buffer
	b.WriteString(`<AssumeRoleWithWebIdentityResponse xmlns="` + xmlns + `">` + "\n")
	b.WriteString("  <AssumeRoleWithWebIdentityResult>\n")
	b.WriteString("    <SubjectFromWebIdentityToken>" + esc(s.Subject) + "</SubjectFromWebIdentityToken>\n")
	b.WriteString("    <Audience>" + esc(s.Audience) + "</Audience>\n")
	writeAssumedRoleUser(&b, s)
	b.WriteString("    <Credentials>\n")
	b.WriteString("      <SessionToken>" + esc(s.SessionToken) + "</SessionToken>\n")
	b.WriteString("      <SecretAccessKey>" + esc(s.SecretAccessKey) + "</SecretAccessKey>\n")
	b.WriteString("      <Expiration>" + s.Expiration.UTC().Format(time.RFC3339) + "</Expiration>\n")
	b.WriteString("      <AccessKeyId>" + esc(s.AccessKeyID) + "</AccessKeyId>\n")
	b.WriteString("    </Credentials>\n")
	if s.SourceIdentity != "" {
		b.WriteString("    <SourceIdentity>" + esc(s.SourceIdentity) + "</SourceIdentity>\n")
	}
	if s.Policy != "" || len(s.Tags) > 0 {
		b.WriteString("    <PackedPolicySize>" + strconv.Itoa(s.PackedPolicySize) + "</PackedPolicySize>\n")
	}
	b.WriteString("    <Provider>" + esc(s.Provider) + "</Provider>\n")
	writeEnd(w, &b, "AssumeRoleWithWebIdentity", reqID)
}

func writeAssumeRoleResult(w http.ResponseWriter, s *Session, reqID string) {
	var b bytes.Buffer
	b.WriteString(`<AssumeRoleResponse xmlns="` + xmlns + `">` + "\n")
	b.WriteString("  <AssumeRoleResult>\n")
	if s.SourceIdentity != "" {
		b.WriteString("    <SourceIdentity>" + esc(s.SourceIdentity) + "</SourceIdentity>\n")
	}
	writeAssumedRoleUser(&b, s)
	writeCredentials(&b, s)
	if s.Policy != "" || len(s.Tags) > 0 {
		b.WriteString("    <PackedPolicySize>" + strconv.Itoa(s.PackedPolicySize) + "</PackedPolicySize>\n")
	}
	writeEnd(w, &b, "AssumeRole", reqID)
}

// writeEnd closes the result element of action, adds the response
// metadata and sends the answer.
func writeEnd(w http.ResponseWriter, b *bytes.Buffer, action, reqID string) {
	b.WriteString("  </" + action + "Result>\n")
	b.WriteString("  <ResponseMetadata>\n")
	b.WriteString("    <RequestId>" + reqID + "</RequestId>\n")
	b.WriteString("  </ResponseMetadata>\n")
	b.WriteString("</" + action + "Response>\n")
	write(w, http.StatusOK, reqID, b.Bytes())
}

func writeError(w http.ResponseWriter, e *stsError, reqID string) {
	status := status(e.code)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + xmlns + `">` + "\n")
	b.WriteString("  <Error>\n")
	b.WriteString("    <Type>" + typ + "</Type>\n")
	b.WriteString("    <Code>" + esc(e.code) + "</Code>\n")
	b.WriteString("    <Message>" + esc(e.msg) + "</Message>\n")
	b.WriteString("  </Error>\n")
	b.WriteString("  <RequestId>" + reqID + "</RequestId>\n")
	b.WriteString("</ErrorResponse>\n")
	write(w, status, reqID, b.Bytes())
}

func write(w http.ResponseWriter, status int, reqID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-amzn-RequestId", reqID)
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// roleID is the unique ID of the assumed role: AROA plus a stable suffix
// derived from the role ARN, then the session name.
func roleID(s *Session) string {
	sum := 0
	for _, c := range s.RoleARN {
		sum = sum*31 + int(c)
	}
	id := "AROA"
	for i := 0; i < 17; i++ {
		id += string(upperAlnum[(sum>>(i%20))&31])
	}
	return id + ":" + s.SessionName
}

// writeAssumedRoleUser writes the AssumedRoleUser element every STS answer
// carries.
func writeAssumedRoleUser(b *bytes.Buffer, s *Session) {
	b.WriteString("    <AssumedRoleUser>\n")
	b.WriteString("      <Arn>" + esc(s.AssumedRoleARN) + "</Arn>\n")
	b.WriteString("      <AssumedRoleId>" + esc(roleID(s)) + "</AssumedRoleId>\n")
	b.WriteString("    </AssumedRoleUser>\n")
}

// writeCredentials writes Credentials in the element order of AssumeRole and
// AssumeRoleWithSAML (AssumeRoleWithWebIdentity uses another order).
func writeCredentials(b *bytes.Buffer, s *Session) {
	b.WriteString("    <Credentials>\n")
	b.WriteString("      <AccessKeyId>" + esc(s.AccessKeyID) + "</AccessKeyId>\n")
	b.WriteString("      <SecretAccessKey>" + esc(s.SecretAccessKey) + "</SecretAccessKey>\n")
	b.WriteString("      <SessionToken>" + esc(s.SessionToken) + "</SessionToken>\n")
	b.WriteString("      <Expiration>" + s.Expiration.UTC().Format(time.RFC3339) + "</Expiration>\n")
	b.WriteString("    </Credentials>\n")
}
