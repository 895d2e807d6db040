package ststest

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// status returns the HTTP status AWS answers an STS error code with.
func status(code string) int {
	switch code {
	case "AccessDenied", "IDPRejectedClaim", "RegionDisabledException",
		"InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken":
		return http.StatusForbidden
	case "InternalFailure":
		return http.StatusInternalServerError
	case "ServiceUnavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

var defaultMessages = map[string]string{
	"AccessDenied":               "Not authorized to perform sts:AssumeRoleWithWebIdentity",
	"InvalidClientTokenId":       "The security token included in the request is invalid.",
	"SignatureDoesNotMatch":      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
	"MissingAuthenticationToken": "Request is missing Authentication Token",
	"ExpiredToken":               "The security token included in the request is expired",
	"IDPRejectedClaim":           "The identity provider rejected the claims in the token.",
	"IDPCommunicationError":      "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
	"InvalidIdentityToken":       "The web identity token that was passed could not be validated by AWS.",
	"ExpiredTokenException":      "Token expired",
	"MalformedPolicyDocument":    "The policy is not in the valid JSON format.",
	"PackedPolicyTooLarge":       "Packed policy consumes 120% of allotted space, please use smaller policy.",
	"Throttling":                 "Rate exceeded",
	"InternalFailure":            "An internal error has occurred.",
	"ServiceUnavailable":         "Service is unavailable.",
}

type stsError struct {
	code, msg string
}

func fail(code, msg string) *stsError {
	if msg == "" {
		msg = defaultMessages[code]
	}
	return &stsError{code: code, msg: msg}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	rec := Request{RequestID: reqID, ContentType: r.Header.Get("Content-Type"), Authorization: r.Header.Get("Authorization") != ""}
	sess, e := s.handle(r, &rec)
	if e != nil {
		rec.Code, rec.Status = e.code, status(e.code)
		writeError(w, e, reqID)
	} else {
		rec.Status, rec.AccessKeyID = http.StatusOK, sess.AccessKeyID
		writeResult(w, sess, reqID)
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

var sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (s *Server) handle(r *http.Request, rec *Request) (*Session, *stsError) {
	if r.Method != http.MethodPost {
		return nil, fail("InvalidAction", "Could not find operation for "+r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, fail("InvalidAction", "Could not find operation")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		return nil, fail("ValidationError", "The request body could not be read.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fail("ValidationError", "The request body could not be parsed.")
	}
	tok := form.Get("WebIdentityToken")
	rec.Action = form.Get("Action")
	rec.Form = url.Values{}
	for k, v := range form {
		if k != "WebIdentityToken" && k != "SAMLAssertion" {
			rec.Form[k] = append([]string(nil), v...)
		}
	}
	if tok != "" {
		sum := sha256.Sum256([]byte(tok))
		rec.TokenSHA256 = hex.EncodeToString(sum[:])
	}

	action := form.Get("Action")
	if v := form.Get("Version"); v != "2011-06-15" {
		return nil, fail("InvalidAction", "Could not find operation "+action+" for version "+v)
	}
	if action != "AssumeRoleWithWebIdentity" && action != "AssumeRole" && action != "AssumeRoleWithSAML" {
		return nil, fail("InvalidAction", "Could not find operation "+action+" for version 2011-06-15")
	}
	s.mu.Lock()
	var fault string
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()
	if fault != "" {
		msg := ""
		if fault == "RegionDisabledException" {
			msg = "STS is not activated in this region for account:" + s.o.AccountID +
				". Your account administrator can activate STS in this region using the IAM Console."
		}
		return nil, fail(fault, msg)
	}
	if action == "AssumeRole" {
		return s.assumeRole(r, body, form)
	}
	if action == "AssumeRoleWithSAML" {
		return s.assumeRoleWithSAML(form)
	}
	return s.assumeRoleWithWebIdentity(r, form)
}
