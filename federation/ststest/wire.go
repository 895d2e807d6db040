package ststest

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"time"
)

// The response bodies follow what STS sends byte for byte: the query
// protocol's XML with the 2011-06-15 namespace, two-space indentation, a
// trailing newline, Content-Type text/xml and the request ID both in
// x-amzn-RequestId and in the body.

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeResult(w http.ResponseWriter, s *Session, reqID string) {
	if s.Action == "AssumeRole" {
		writeAssumeRoleResult(w, s, reqID)
		return
	}
	var b bytes.Buffer
	b.WriteString(`<AssumeRoleWithWebIdentityResponse xmlns="` + xmlns + `">` + "\n")
	b.WriteString("  <AssumeRoleWithWebIdentityResult>\n")
	b.WriteString("    <SubjectFromWebIdentityToken>" + esc(s.Subject) + "</SubjectFromWebIdentityToken>\n")
	b.WriteString("    <Audience>" + esc(s.Audience) + "</Audience>\n")
	b.WriteString("    <AssumedRoleUser>\n")
	b.WriteString("      <Arn>" + esc(s.AssumedRoleARN) + "</Arn>\n")
	b.WriteString("      <AssumedRoleId>" + esc(roleID(s)) + "</AssumedRoleId>\n")
	b.WriteString("    </AssumedRoleUser>\n")
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
	b.WriteString("  </AssumeRoleWithWebIdentityResult>\n")
	b.WriteString("  <ResponseMetadata>\n")
	b.WriteString("    <RequestId>" + reqID + "</RequestId>\n")
	b.WriteString("  </ResponseMetadata>\n")
	b.WriteString("</AssumeRoleWithWebIdentityResponse>\n")
	write(w, http.StatusOK, reqID, b.Bytes())
}

func writeAssumeRoleResult(w http.ResponseWriter, s *Session, reqID string) {
	var b bytes.Buffer
	b.WriteString(`<AssumeRoleResponse xmlns="` + xmlns + `">` + "\n")
	b.WriteString("  <AssumeRoleResult>\n")
	if s.SourceIdentity != "" {
		b.WriteString("    <SourceIdentity>" + esc(s.SourceIdentity) + "</SourceIdentity>\n")
	}
	b.WriteString("    <AssumedRoleUser>\n")
	b.WriteString("      <Arn>" + esc(s.AssumedRoleARN) + "</Arn>\n")
	b.WriteString("      <AssumedRoleId>" + esc(roleID(s)) + "</AssumedRoleId>\n")
	b.WriteString("    </AssumedRoleUser>\n")
	b.WriteString("    <Credentials>\n")
	b.WriteString("      <AccessKeyId>" + esc(s.AccessKeyID) + "</AccessKeyId>\n")
	b.WriteString("      <SecretAccessKey>" + esc(s.SecretAccessKey) + "</SecretAccessKey>\n")
	b.WriteString("      <SessionToken>" + esc(s.SessionToken) + "</SessionToken>\n")
	b.WriteString("      <Expiration>" + s.Expiration.UTC().Format(time.RFC3339) + "</Expiration>\n")
	b.WriteString("    </Credentials>\n")
	if s.Policy != "" || len(s.Tags) > 0 {
		b.WriteString("    <PackedPolicySize>" + strconv.Itoa(s.PackedPolicySize) + "</PackedPolicySize>\n")
	}
	b.WriteString("  </AssumeRoleResult>\n")
	b.WriteString("  <ResponseMetadata>\n")
	b.WriteString("    <RequestId>" + reqID + "</RequestId>\n")
	b.WriteString("  </ResponseMetadata>\n")
	b.WriteString("</AssumeRoleResponse>\n")
	write(w, http.StatusOK, reqID, b.Bytes())
}

func writeError(w http.ResponseWriter, e *stsError, reqID string) {
	status := Status(e.code)
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
