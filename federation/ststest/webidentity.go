package ststest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// assumeRoleWithWebIdentity answers AssumeRoleWithWebIdentity in AWS's
// order: the request's parameters, the token, the role's trust, then the
// duration and the session policy.
func (s *Server) assumeRoleWithWebIdentity(r *http.Request, form url.Values) (*Session, *stsError) {
	duration, e := webIdentityParams(form)
	if e != nil {
		return nil, e
	}
	tok, roleARN, name := form.Get("WebIdentityToken"), form.Get("RoleArn"), form.Get("RoleSessionName")
	c, p, e := s.verify(r.Context(), tok)
	if e != nil {
		return nil, e
	}
	tags, transitive, e := sessionTags(c)
	if e != nil {
		return nil, e
	}
	var sourceIdentity string
	if raw, ok := c.Get(sourceIdentityClaim); ok {
		if json.Unmarshal(raw, &sourceIdentity) != nil || !validSourceIdentity(sourceIdentity) {
			return nil, fail("InvalidIdentityToken", "Invalid source identity in token")
		}
	}

	s.mu.Lock()
	role, ok := s.roles[roleARN]
	s.mu.Unlock()
	if !ok || (role.Provider != "" && role.Provider != p.p.URL) || !trusts(role, p.p.URL, c, tags, name) {
		return nil, fail("AccessDenied", "")
	}
	if duration > role.MaxSessionDuration {
		return nil, fail("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	policy := form.Get("Policy")
	if policy != "" && !validPolicy(policy) {
		return nil, fail("MalformedPolicyDocument", "")
	}
	packed := packedSize(policy, tags)
	for k, v := range form {
		if strings.HasPrefix(k, "PolicyArns.member.") {
			packed += len(v[0])
		}
	}
	if packed > s.o.PackedPolicyLimit {
		return nil, fail("PackedPolicyTooLarge", fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy.", packed*100/s.o.PackedPolicyLimit))
	}

	sess := s.newSession("AssumeRoleWithWebIdentity", roleARN, name, s.o.Now().Add(duration))
	sess.Subject = c.Subject
	sess.Audience = matchedAudience(c, p.p.ClientIDs)
	sess.Provider = s.ProviderARN(p.p.URL)
	sess.SourceIdentity = sourceIdentity
	sess.Tags, sess.TransitiveTagKeys = tags, transitive
	sess.Policy = policy
	sess.PackedPolicySize = packed * 100 / s.o.PackedPolicyLimit
	s.store(sess)
	return sess, nil
}

// webIdentityParams checks the parameters of AssumeRoleWithWebIdentity as
// STS's request validation does, all at once, and returns the requested
// duration.
func webIdentityParams(form url.Values) (time.Duration, *stsError) {
	var v validation
	roleARN, shownARN := form.Get("RoleArn"), form.Get("RoleArn")
	if len(roleARN) > 2048 {
		shownARN = roleARN[:64] + "..." // STS quotes the start of a huge value
	}
	v.length("roleArn", roleARN, shownARN, 20, 2048)
	name := form.Get("RoleSessionName")
	if v.length("roleSessionName", name, name, 2, 64) && !sessionNameRe.MatchString(name) {
		v.bad("roleSessionName", name, `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	v.length("webIdentityToken", form.Get("WebIdentityToken"), "", 4, 20000)
	duration := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil:
			v.bad("durationSeconds", d, "Member must be an integer")
		case n < 900:
			v.bad("durationSeconds", d, "Member must have value greater than or equal to 900")
		case n > 43200:
			v.bad("durationSeconds", d, "Member must have value less than or equal to 43200")
		}
		duration = time.Duration(n) * time.Second
	}
	return duration, v.err()
}

// validation collects violated constraints in STS's wording.
type validation struct{ problems []string }

// bad records a violated constraint, with the value quoted unless the
// member is sensitive (the token never is quoted).
func (v *validation) bad(member, value, constraint string) {
	if value != "" {
		v.problems = append(v.problems, "Value '"+value+"' at '"+member+"' failed to satisfy constraint: "+constraint)
	} else {
		v.problems = append(v.problems, "Value at '"+member+"' failed to satisfy constraint: "+constraint)
	}
}

// length checks that a required member is present and within [lo, hi]
// characters; shown is what a message may quote of it ("" for a sensitive
// member). It reports whether the member passed.
func (v *validation) length(member, value, shown string, lo, hi int) bool {
	switch n := len(value); {
	case n == 0:
		v.problems = append(v.problems, "Value null at '"+member+"' failed to satisfy constraint: Member must not be null")
	case n < lo:
		v.bad(member, shown, "Member must have length greater than or equal to "+strconv.Itoa(lo))
	case n > hi:
		v.bad(member, shown, "Member must have length less than or equal to "+strconv.Itoa(hi))
	default:
		return true
	}
	return false
}

// err is the ValidationError for what was recorded, or nil.
func (v *validation) err() *stsError {
	switch len(v.problems) {
	case 0:
		return nil
	case 1:
		return fail("ValidationError", "1 validation error detected: "+v.problems[0])
	}
	return fail("ValidationError", fmt.Sprintf("%d validation errors detected: %s", len(v.problems), strings.Join(v.problems, "; ")))
}
