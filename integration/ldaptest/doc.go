// Package ldaptest runs a real OpenLDAP slapd, seeded with a small bank
// directory, so idbridge's LDAP code is tested against the server it will
// meet in production rather than a fake.
//
// # Use
//
// In a test, call [Start]; it returns a running [*Server] and stops it when
// the test ends, pass or fail:
//
//	srv := ldaptest.Start(t)
//	conn, err := ldap.DialURL(srv.LDAPSURL, ldap.DialWithTLSConfig(srv.TLSConfig()))
//	...
//	err = conn.Bind(srv.BindDN, srv.BindPassword) // read-only service account
//
// Every call starts its own server on its own ports, so tests may use
// t.Parallel and a test may run two servers. [Server.Stop] kills slapd at
// once (for "directory down" cases) and [Server.Restart] brings it back on
// the same ports with the same data. [NewServer] does the same without a
// testing.TB, for examples or a server shared through TestMain.
//
// # Installing slapd
//
// Debian and Ubuntu (what CI runs):
//
//	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils
//
// The package's own service is not used (it may stay stopped). When slapd
// is missing, [Start] calls testenv.Missing: the test is skipped locally and
// fails when IDBRIDGE_REQUIRE_INTEGRATION=1. Tested with OpenLDAP 2.5
// (Debian 12); 2.6 should work, 2.4 will not (ppolicy needs its schema file
// there).
//
// # The seeded directory
//
// Under [BaseDN] (dc=bank,dc=example):
//
//	ou=people    amit.r  "Amit R", Relationship Manager
//	             priya.s "Priya S", Credit Officer
//	             leo.v   "Leo V", leaver: locked by ppolicy, every bind fails
//	ou=groups    CBS_ViewOnly  {amit.r}
//	             Lending_RM    {amit.r}
//	             Loan_Approver {priya.s}
//	             Branch_Staff  {cn=Lending_RM}  (a group in a group)
//	             Finance       {leo.v}
//	ou=services  cn=idbridge-reader  reads people and groups, writes nothing
//	ou=policies  cn=default          the password policy
//
// Names and passwords are exported constants ([UserAmit], [PasswordAmit],
// [GroupLendingRM], ...). The rootdn password is random per server. memberOf
// is maintained by the memberof overlay on users and on nested groups: the
// Lending_RM entry carries memberOf Branch_Staff, amit.r does not (OpenLDAP
// has no transitive memberOf; a client follows the chain itself). The refint
// overlay removes deleted entries from member lists, from a background task,
// so such a change becomes visible shortly after the delete returns.
//
// # How it works
//
// Everything lives in the given directory (t.TempDir() for [Start]); nothing
// is written to /etc or /var, and only the schema files under
// /etc/ldap/schema and modules under /usr/lib/ldap are read.
//
//  1. A private ECDSA CA and a server certificate for 127.0.0.1 and
//     localhost are generated in Go ([Server.CACertPEM], [Server.CertPool]).
//  2. A slapd.conf is generated: mdb backend, the ppolicy, memberof and
//     refint overlays, ACLs, TLS files, {SSHA}-hashed root password. The
//     deprecated slapd.conf format is still supported by OpenLDAP 2.5 and 2.6
//     and is easier to read on failure than a cn=config tree.
//  3. slapadd (slapd -T add) loads the tree without the groups, hashed
//     passwords, and pwdAccountLockedTime on leo.v.
//  4. slapd runs in the foreground (-d none, so only errors reach slapd.log)
//     listening on ldap:// and ldaps:// on two free 127.0.0.1 ports; the
//     plain port also offers StartTLS. If another process grabbed a port in
//     between, new ports are picked (up to three tries).
//  5. Readiness is polled with a rootdn bind, backing off from 2ms to 50ms,
//     until it answers, slapd exits (its log is in the error) or
//     [Options.ReadyTimeout] passes. A start takes about 0.15s.
//  6. The groups are added over LDAP as the rootdn, because slapadd bypasses
//     overlays: only an online add makes memberof write memberOf.
//
// [Server.Stop] sends SIGKILL to slapd's PID and waits for it; the mdb
// database is crash-safe, so a restart finds the data. On Linux slapd also
// gets a parent-death signal, so a crashed test binary leaves no slapd.
//
// # Ubuntu and AppArmor
//
// Ubuntu ships an AppArmor profile for /usr/sbin/slapd that forbids reading
// a configuration under /tmp ("Permission denied"). The profile attaches by
// path, so when slapadd fails that way and [Options.SlapdPath] is unset,
// the binary is copied into the directory and run from there, unconfined.
// Debian has no such profile. The fallback is untested on Ubuntu so far.
package ldaptest
