package ststest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AssumeRole is served for role chaining: a session the fake issued
// assumes another role, with session tags, transitive tag keys and a source
// identity as parameters. The request must be signed with Signature
// Version 4 by that session's credentials; the fake verifies the signature.
// AWS's rules for chained sessions apply: at most one hour, transitive tags
// and the source identity of the caller carry over and cannot be changed.

var authRe = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/sts/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$`)

func (s *Server) assumeRole(r *http.Request, body []byte, form url.Values) (*Session, *stsError) {
	caller, e := s.authenticate(r, body)
	if e != nil {
		return nil, e
	}
	roleARN, name := form.Get("RoleArn"), form.Get("RoleSessionName")
	if !sessionNameRe.MatchString(name) {
		return nil, fail("ValidationError", "Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	duration := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return nil, fail("ValidationError", "Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200")
		}
		duration = time.Duration(n) * time.Second
	}
	if duration > time.Hour {
		return nil, fail("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	s.mu.Lock()
	role, ok := s.roles[roleARN]
	s.mu.Unlock()
	if !ok || !slices.Contains(role.TrustedRoles, caller.RoleARN) {
		return nil, fail("AccessDenied", "User: "+caller.AssumedRoleARN+" is not authorized to perform: sts:AssumeRole on resource: "+roleARN)
	}
	tags, transitive, e := chainedTags(form, caller)
	if e != nil {
		return nil, e
	}
	source, e := chainedSourceIdentity(form.Get("SourceIdentity"), caller)
	if e != nil {
		return nil, e
	}
	packed := packedSize(form.Get("Policy"), tags)
	if packed > s.o.PackedPolicyLimit {
		return nil, fail("PackedPolicyTooLarge", "")
	}

	sess := s.newSession("AssumeRole", roleARN, name, s.o.Now().Add(duration))
	sess.Subject, sess.Audience, sess.Provider = caller.Subject, caller.Audience, caller.Provider
	sess.SourceIdentity = source
	sess.Tags, sess.TransitiveTagKeys = tags, transitive
	sess.Policy = form.Get("Policy")
	sess.PackedPolicySize = packed * 100 / s.o.PackedPolicyLimit
	s.store(sess)
	return sess, nil
}

// authenticate returns the session whose credentials signed r, checking
// the Signature Version 4 as STS does.
func (s *Server) authenticate(r *http.Request, body []byte) (Session, *stsError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Session{}, fail("MissingAuthenticationToken", "")
	}
	m := authRe.FindStringSubmatch(auth)
	if m == nil {
		return Session{}, fail("IncompleteSignature", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
	}
	akid, date, region, signed, sig := m[1], m[2], m[3], m[4], m[5]
	s.mu.Lock()
	caller, ok := s.sessions[akid]
	s.mu.Unlock()
	if !ok || r.Header.Get("X-Amz-Security-Token") != caller.SessionToken {
		return Session{}, fail("InvalidClientTokenId", "")
	}
	now := s.o.Now()
	if !now.Before(caller.Expiration) {
		return Session{}, fail("ExpiredToken", "")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, date) || now.Sub(t).Abs() > 15*time.Minute {
		return Session{}, fail("SignatureDoesNotMatch", "Signature expired or X-Amz-Date is not valid.")
	}
	if !hmac.Equal([]byte(sig), []byte(signature(r, body, signed, amzDate, date, region, caller.SecretAccessKey))) {
		return Session{}, fail("SignatureDoesNotMatch", "")
	}
	return caller, nil
}

// chainedTags returns the session tags and transitive keys of a chained
// session: the caller's transitive tags carry over and cannot be changed.
func chainedTags(form url.Values, caller Session) (map[string]string, []string, *stsError) {
	tags := map[string]string{}
	var transitive []string
	for _, k := range caller.TransitiveTagKeys {
		tags[k] = caller.Tags[k]
		transitive = append(transitive, k)
	}
	for i := 1; ; i++ {
		k, ok := form["Tags.member."+strconv.Itoa(i)+".Key"]
		if !ok {
			break
		}
		v := form.Get("Tags.member." + strconv.Itoa(i) + ".Value")
		for ek := range tags {
			if strings.EqualFold(ek, k[0]) {
				return nil, nil, fail("InvalidParameterValue", "Tag key "+k[0]+" conflicts with a transitive tag of the calling session")
			}
		}
		tags[k[0]] = v
	}
	for i := 1; ; i++ {
		k := form.Get("TransitiveTagKeys.member." + strconv.Itoa(i))
		if k == "" {
			break
		}
		if _, ok := tags[k]; !ok {
			return nil, nil, fail("InvalidParameterValue", "Transitive tag key "+k+" is not a session tag")
		}
		if !slices.Contains(transitive, k) {
			transitive = append(transitive, k)
		}
	}
	sort.Strings(transitive)
	if len(tags) == 0 {
		tags = nil
	}
	return tags, transitive, nil
}

// chainedSourceIdentity returns the source identity of a chained session:
// the caller's, which cannot be changed, else the requested one.
func chainedSourceIdentity(source string, caller Session) (string, *stsError) {
	switch {
	case caller.SourceIdentity != "" && source != "" && source != caller.SourceIdentity:
		return "", fail("AccessDenied", "The source identity of a session cannot be changed")
	case caller.SourceIdentity != "":
		return caller.SourceIdentity, nil
	case source != "" && !validSourceIdentity(source):
		return "", fail("ValidationError", "Value at 'sourceIdentity' failed to satisfy constraint")
	}
	return source, nil
}

// signature computes the Signature Version 4 of r over the headers the
// client signed.
func signature(r *http.Request, body []byte, signedHeaders, amzDate, date, region, secret string) string {
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon.WriteString(path + "\n")
	canon.WriteString(canonicalQuery(r.URL.Query()) + "\n")
	for _, h := range strings.Split(signedHeaders, ";") {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			vs := slices.Clone(r.Header.Values(h))
			for i := range vs {
				vs[i] = strings.Join(strings.Fields(vs[i]), " ")
			}
			v = strings.Join(vs, ",")
		}
		canon.WriteString(h + ":" + v + "\n")
	}
	canon.WriteString("\n" + signedHeaders + "\n")
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = hexSHA256(body)
	}
	canon.WriteString(payload)

	scope := date + "/" + region + "/sts/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hexSHA256([]byte(canon.String()))
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "sts")
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := slices.Clone(q[k])
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
