// Package rbacit tests rbac and rbac/ldap against a real OpenLDAP slapd
// (integration/ldaptest) with the bank scenario policy: nested groups,
// LDAPS and StartTLS, the disabled leaver, wrong passwords, movers, and a
// server that stops mid-flight.
package rbacit
