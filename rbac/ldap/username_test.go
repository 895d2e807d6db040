package ldap

import (
	"errors"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/reason"
)

func TestCheckUsername(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means accepted
	}{
		{"plain", "amit.r", ""},
		{"upper case", "AMIT.R", ""},
		{"inner space", "Amit R", ""},
		{"UPN", "amit.r@bank.example", ""},
		{"escaped by the filter", "amit.r)(uid=*", ""},
		{"non-ASCII", "jürgen", ""},
		{"empty", "", "ldap: invalid username: empty"},
		{"leading space", " amit.r", "ldap: invalid username: has leading or trailing spaces"},
		{"trailing space", "amit.r ", "ldap: invalid username: has leading or trailing spaces"},
		{"trailing no-break space", "amit.r\u00a0", "ldap: invalid username: has leading or trailing spaces"},
		{"leading ideographic space", "\u3000amit.r", "ldap: invalid username: has leading or trailing spaces"},
		{"NUL", "amit.r\x00admin", "ldap: invalid username: contains a control character"},
		{"newline", "amit.r\nadmin", "ldap: invalid username: contains a control character"},
		{"tab", "\tamit.r", "ldap: invalid username: contains a control character"},
		{"DEL", "amit\x7f", "ldap: invalid username: contains a control character"},
		{"C1", "amit\u0085", "ldap: invalid username: contains a control character"},
		{"zero-width space", "amit\u200b.r", "ldap: invalid username: contains an invisible formatting character"},
		{"bidi override", "\u202eamit.r", "ldap: invalid username: contains an invisible formatting character"},
		{"line separator", "amit\u2028r", "ldap: invalid username: contains an invisible formatting character"},
		{"BOM", "\ufeffamit.r", "ldap: invalid username: contains an invisible formatting character"},
		{"invalid UTF-8", "amit\xff", "ldap: invalid username: not valid UTF-8"},
		{"over-long", strings.Repeat("a", maxUsernameLen+1), "ldap: invalid username: longer than 256 bytes"},
		{"at the limit", strings.Repeat("a", maxUsernameLen), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkUsername(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want || !errors.Is(err, ErrInvalidUsername) || reason.Of(err) != reason.Malformed {
				t.Fatalf("err %v (%s), want %q (malformed)", err, reason.Of(err), tt.want)
			}
		})
	}
}

func TestUsernameAttribute(t *testing.T) {
	tests := []struct {
		name, configured, filter, want, wantErr string
	}{
		{"default", "", defaultUserFilter, "uid", ""},
		{"AD", "", "(&(objectClass=user)(sAMAccountName={username}))", "sAMAccountName", ""},
		{"UPN", "", "(&(objectClass=user)(userPrincipalName={username}))", "userPrincipalName", ""},
		{"OID", "", "(0.9.2342.19200300.100.1.1={username})", "0.9.2342.19200300.100.1.1", ""},
		{"same twice", "", "(|(uid={username})(UID={username}))", "uid", ""},
		{"configured", "sAMAccountName", "(|(sAMAccountName={username})(userPrincipalName={username}))", "sAMAccountName", ""},
		{"two attributes", "", "(|(sAMAccountName={username})(userPrincipalName={username}))", "",
			"ldap: invalid options: UserFilter compares {username} with both sAMAccountName and userPrincipalName; set UsernameAttribute to the one whose value names the user"},
		{"no equality term", "", "(uid=*{username}*)", "",
			"ldap: invalid options: UserFilter has no (attribute={username}) term; set UsernameAttribute to the attribute whose value names the user"},
		{"bad configured", "uid)(x", defaultUserFilter, "", `ldap: invalid options: UsernameAttribute "uid)(x" is not an attribute name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := usernameAttribute(tt.configured, tt.filter)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, idbridge.ErrInvalidOptions) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			// NewDirectory reports the same.
			if _, err := NewDirectory("ldaps://x", base, func(o *Options) { o.UserFilter, o.UsernameAttribute = tt.filter, tt.configured }); err != nil {
				t.Fatalf("NewDirectory: %v", err)
			}
		})
	}
	if _, err := NewDirectory("ldaps://x", base, func(o *Options) { o.UserFilter = "(|(mail={username})(uid={username}))" }); err == nil || !strings.Contains(err.Error(), "set UsernameAttribute") {
		t.Fatalf("NewDirectory with an ambiguous filter: %v", err)
	}
}

func TestDirectoryName(t *testing.T) {
	entry := func(dn string, values ...string) *goldap.Entry {
		return goldap.NewEntry(dn, map[string][]string{"uid": values})
	}
	tests := []struct {
		name string
		e    *goldap.Entry
		want string
	}{
		{"one value", entry("uid=amit.r,ou=people,dc=bank,dc=example", "amit.r"), "amit.r"},
		{"RDN value among several", entry("uid=amit.r,ou=people,dc=bank,dc=example", "ar", "amit.r"), "amit.r"},
		{"RDN of another attribute", entry("cn=Amit R,ou=people,dc=bank,dc=example", "ar", "amit.r"), "ar"},
		{"none", entry("uid=x,dc=bank,dc=example"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := directoryName(tt.e, "UID"); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
