package ldap

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/internal/reason"
)

// ErrInvalidUsername: the name given to Authenticate or Lookup can name no
// account (empty, over 256 bytes, not UTF-8, a control or
// invisible formatting character, surrounding spaces). It is refused
// before the directory is asked: LDAP matching ignores surrounding spaces
// and case, so " amit.r" would otherwise sign in as amit.r. From
// Authenticate it also matches [ErrInvalidCredentials], from Lookup
// [ErrNoUser]. The error never repeats the name.
var ErrInvalidUsername = reason.New(reason.Malformed, "ldap: invalid username")

// maxUsernameLen bounds a username in bytes; AD's sAMAccountName has at
// most 20 characters and a userPrincipalName at most 1024 bytes, but no
// person types a quarter of that.
const maxUsernameLen = 256

// checkUsername refuses names that are hostile or that the directory
// would match to a different spelling than the one typed.
func checkUsername(s string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrInvalidUsername, why) }
	switch {
	case s == "":
		return bad("empty")
	case len(s) > maxUsernameLen:
		return bad(fmt.Sprintf("longer than %d bytes", maxUsernameLen))
	case !utf8.ValidString(s):
		return bad("not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r): // NUL, CR, LF, tab, DEL, C1
			return bad("contains a control character")
		case unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			// Zero-width and bidi overrides make two names look alike.
			return bad("contains an invisible formatting character")
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return bad("has leading or trailing spaces")
	}
	return nil
}

// usernameTerm finds the equality terms of a user filter that compare an
// attribute with {username}: (uid={username}), (sAMAccountName={username}).
var (
	usernameTerm  = regexp.MustCompile(`\((` + attrName + `)=\{username\}\)`)
	attributeName = regexp.MustCompile(`^(?:` + attrName + `)$`)
)

// attrName is an LDAP attribute description without options: a name or
// an OID (RFC 4512 section 2.5).
const attrName = `[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+`

// usernameAttribute returns the attribute whose value names a user: the
// one configured, else the one UserFilter compares with {username}.
func usernameAttribute(configured, filter string) (string, error) {
	if configured != "" {
		if !attributeName.MatchString(configured) {
			return "", invalid("UsernameAttribute %q is not an attribute name", configured)
		}
		return configured, nil
	}
	var attr string
	for _, m := range usernameTerm.FindAllStringSubmatch(filter, -1) {
		if attr != "" && !strings.EqualFold(attr, m[1]) {
			return "", invalid("UserFilter compares {username} with both %s and %s; set UsernameAttribute to the one whose value names the user", attr, m[1])
		}
		if attr == "" {
			attr = m[1]
		}
	}
	if attr == "" {
		return "", invalid("UserFilter has no (attribute={username}) term; set UsernameAttribute to the attribute whose value names the user")
	}
	return attr, nil
}

// directoryName picks the user's name from the values of the username
// attribute as the directory holds them: the value in the entry's RDN if
// it is one of them (uid=amit.r,ou=people), else the first value. One
// person therefore has one name whatever case, or alias, they typed.
func directoryName(e *goldap.Entry, attr string) string {
	values := e.GetEqualFoldAttributeValues(attr)
	if len(values) <= 1 {
		return e.GetEqualFoldAttributeValue(attr)
	}
	if dn, err := goldap.ParseDN(e.DN); err == nil && len(dn.RDNs) > 0 {
		for _, a := range dn.RDNs[0].Attributes {
			if strings.EqualFold(a.Type, attr) {
				for _, v := range values {
					if v == a.Value {
						return v
					}
				}
			}
		}
	}
	return values[0]
}
