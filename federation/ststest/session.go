package ststest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// newSession issues credentials for roleARN under session name, valid
// until exp (truncated to the second, as STS does).
func (s *Server) newSession(action, roleARN, name string, exp time.Time) *Session {
	roleName := roleARN[strings.LastIndex(roleARN, "/")+1:]
	return &Session{
		Action:          action,
		AccessKeyID:     "ASIA" + randomString(16, upperAlnum),
		SecretAccessKey: randomString(40, base64Chars),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + randomString(340, base64Chars),
		Expiration:      exp.UTC().Truncate(time.Second),
		RoleARN:         roleARN,
		AssumedRoleARN:  "arn:aws:sts::" + s.o.AccountID + ":assumed-role/" + roleName + "/" + name,
		SessionName:     name,
	}
}

// store records an issued session under its access key ID.
func (s *Server) store(sess *Session) {
	s.mu.Lock()
	s.sessions[sess.AccessKeyID] = *sess
	s.mu.Unlock()
}

// packedSize is what a session policy and session tags take of the packed
// policy budget, in bytes.
func packedSize(policy string, tags map[string]string) int {
	n := len(policy)
	for k, v := range tags {
		n += len(k) + len(v)
	}
	return n
}

// validSourceIdentity reports whether STS accepts a source identity.
func validSourceIdentity(id string) bool {
	return sessionNameRe.MatchString(id) && !strings.HasPrefix(strings.ToLower(id), "aws:")
}

// validPolicy reports whether p is a JSON policy document.
func validPolicy(p string) bool {
	var doc struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(p), &doc) != nil {
		return false
	}
	return doc.Version != "" && len(doc.Statement) > 0
}

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("ststest: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("ststest: " + err.Error())
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Format prints a Session with its secret access key and session token
// redacted, so that test failure messages never carry credentials.
func (s Session) Format(f fmt.State, verb rune) {
	type view Session // no methods: no recursion
	v := view(s)
	if v.SecretAccessKey != "" {
		v.SecretAccessKey = "[redacted]"
	}
	if v.SessionToken != "" {
		v.SessionToken = "[redacted]"
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), v)
}
