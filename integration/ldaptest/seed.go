package ldaptest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1" // {SSHA} is the strongest scheme slapd verifies without an extra module.
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The seeded directory. Tests and other packages code against these names, so
// they are constants rather than per-server values; only the root password is
// random per server (see [Server.RootPassword]).
const (
	// BaseDN is the suffix of the seeded directory.
	BaseDN = "dc=bank,dc=example"
	// PeopleDN holds the seeded users (inetOrgPerson, RDN uid).
	PeopleDN = "ou=people," + BaseDN
	// GroupsDN holds the seeded groups (groupOfNames, RDN cn).
	GroupsDN = "ou=groups," + BaseDN
	// ServicesDN holds service accounts such as the read-only [ReaderDN].
	ServicesDN = "ou=services," + BaseDN
	// PolicyDN is the default password policy; it is what makes [UserLeo]
	// a disabled account.
	PolicyDN = "cn=default,ou=policies," + BaseDN
	// RootDN is the directory manager: it bypasses ACLs and password policy,
	// so tests use it only to change data, never to prove what a user sees.
	RootDN = "cn=admin," + BaseDN

	// ReaderDN is the read-only service account idbridge searches with; it
	// can read people and groups (not passwords) and write nothing.
	ReaderDN = "cn=idbridge-reader," + ServicesDN
	// ReaderPassword is the password of [ReaderDN].
	ReaderPassword = "reader-Secret-1"

	// UserAmit is a Relationship Manager in CBS_ViewOnly and Lending_RM, and
	// through Lending_RM transitively in Branch_Staff.
	UserAmit = "amit.r"
	// PasswordAmit is the password of [UserAmit].
	PasswordAmit = "amit-Secret-1"
	// UserPriya is a credit officer in Loan_Approver.
	UserPriya = "priya.s"
	// PasswordPriya is the password of [UserPriya].
	PasswordPriya = "priya-Secret-1"
	// UserLeo is a leaver in Finance whose account is locked by the password
	// policy (pwdAccountLockedTime), so a bind fails even with
	// [PasswordLeo]: the case a stale group membership must not rescue.
	UserLeo = "leo.v"
	// PasswordLeo is the correct (but useless) password of [UserLeo].
	PasswordLeo = "leo-Secret-1"

	// GroupCBSViewOnly has member [UserAmit].
	GroupCBSViewOnly = "CBS_ViewOnly"
	// GroupLendingRM has member [UserAmit] and is itself a member of
	// [GroupBranchStaff].
	GroupLendingRM = "Lending_RM"
	// GroupLoanApprover has member [UserPriya].
	GroupLoanApprover = "Loan_Approver"
	// GroupBranchStaff is the nested group: its only member is the group
	// [GroupLendingRM], so memberOf appears on that group entry, not on users.
	GroupBranchStaff = "Branch_Staff"
	// GroupFinance has member [UserLeo], the disabled account.
	GroupFinance = "Finance"
)

// lockedForever is the pwdAccountLockedTime value that ppolicy treats as
// "locked until an administrator unlocks", independent of pwdLockoutDuration.
const lockedForever = "000001010000Z"

type user struct {
	uid, password, given, sn, title string
	locked                          bool
}

var seedUsers = []user{
	{uid: UserAmit, password: PasswordAmit, given: "Amit", sn: "R", title: "Relationship Manager"},
	{uid: UserPriya, password: PasswordPriya, given: "Priya", sn: "S", title: "Credit Officer"},
	{uid: UserLeo, password: PasswordLeo, given: "Leo", sn: "V", title: "Teller (leaver)", locked: true},
}

// group members are DNs; order matters because the memberof overlay only
// writes memberOf onto entries that already exist (Lending_RM before
// Branch_Staff).
type group struct {
	cn      string
	members []string
}

func seedGroups() []group {
	return []group{
		{cn: GroupCBSViewOnly, members: []string{userDN(UserAmit)}},
		{cn: GroupLendingRM, members: []string{userDN(UserAmit)}},
		{cn: GroupLoanApprover, members: []string{userDN(UserPriya)}},
		{cn: GroupBranchStaff, members: []string{groupDN(GroupLendingRM)}},
		{cn: GroupFinance, members: []string{userDN(UserLeo)}},
	}
}

func userDN(uid string) string { return "uid=" + escapeRDNValue(uid) + "," + PeopleDN }
func groupDN(cn string) string { return "cn=" + escapeRDNValue(cn) + "," + GroupsDN }

// escapeRDNValue escapes an attribute value for use in a DN string (RFC 4514
// section 2.4). Besides the mandatory specials it hex-escapes control bytes,
// DEL and bytes that are not valid UTF-8, so any Go string maps to a DN that
// parses back to the same bytes.
func escapeRDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		c := v[i]
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\%02x`, c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\%02x`, c)
		case strings.IndexByte(`"+,;<>\=`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case (c == ' ' || c == '#') && i == 0, c == ' ' && i == len(v)-1:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteString(v[i : i+size])
		}
		i += size
	}
	return b.String()
}

// ssha hashes a password the way slapd's {SSHA} scheme expects, so neither
// slapd.conf nor the seed LDIF holds a plaintext password (slapd echoes
// offending config lines in its errors).
func ssha(password string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("ldaptest: salt: %w", err)
	}
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...)), nil
}

// ldifEntry is one entry for the slapadd seed; values must be LDIF-safe
// (printable ASCII without a leading space, colon or '<'), which holds for
// the constants above and for {SSHA} hashes.
type ldifEntry struct {
	dn    string
	attrs [][2]string
}

func writeLDIF(buf *bytes.Buffer, entries []ldifEntry) {
	for _, e := range entries {
		fmt.Fprintf(buf, "dn: %s\n", e.dn)
		for _, a := range e.attrs {
			fmt.Fprintf(buf, "%s: %s\n", a[0], a[1])
		}
		buf.WriteByte('\n')
	}
}

// seedLDIF is what slapadd loads before the first start: everything except
// the groups. Groups are added online (see [addGroups]) because slapadd
// bypasses overlays, and only an online add makes the memberof overlay write
// memberOf — which also proves the overlay is configured.
func seedLDIF() ([]byte, error) {
	ou := func(name string) ldifEntry {
		return ldifEntry{dn: "ou=" + name + "," + BaseDN, attrs: [][2]string{
			{"objectClass", "organizationalUnit"}, {"ou", name}}}
	}
	entries := []ldifEntry{
		{dn: BaseDN, attrs: [][2]string{
			{"objectClass", "dcObject"}, {"objectClass", "organization"},
			{"dc", "bank"}, {"o", "Example Bank"}}},
		ou("people"), ou("groups"), ou("services"), ou("policies"),
		{dn: PolicyDN, attrs: [][2]string{
			// device is just a structural class with cn; pwdPolicy is auxiliary.
			{"objectClass", "device"}, {"objectClass", "pwdPolicy"},
			{"cn", "default"},
			{"pwdAttribute", "userPassword"},
			{"pwdLockout", "TRUE"},
			// 0 = failed binds never lock: tests that try wrong passwords must
			// not lock amit.r for the tests that follow.
			{"pwdMaxFailure", "0"}}},
	}
	readerHash, err := ssha(ReaderPassword)
	if err != nil {
		return nil, err
	}
	entries = append(entries, ldifEntry{dn: ReaderDN, attrs: [][2]string{
		{"objectClass", "organizationalRole"}, {"objectClass", "simpleSecurityObject"},
		{"cn", "idbridge-reader"},
		{"description", "read-only service account for idbridge searches"},
		{"userPassword", readerHash}}})
	for _, u := range seedUsers {
		hash, err := ssha(u.password)
		if err != nil {
			return nil, err
		}
		e := ldifEntry{dn: userDN(u.uid), attrs: [][2]string{
			{"objectClass", "inetOrgPerson"},
			{"uid", u.uid},
			{"cn", u.given + " " + u.sn},
			{"displayName", u.given + " " + u.sn},
			{"givenName", u.given},
			{"sn", u.sn},
			{"title", u.title},
			{"mail", u.uid + "@bank.example"},
			{"userPassword", hash}}}
		if u.locked {
			e.attrs = append(e.attrs, [2]string{"pwdAccountLockedTime", lockedForever})
		}
		entries = append(entries, e)
	}
	var buf bytes.Buffer
	writeLDIF(&buf, entries)
	return buf.Bytes(), nil
}
