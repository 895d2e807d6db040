package rbac

import (
	"fmt"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/benchcpu"
)

const benchIssuer = "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"

func benchGUID(i int) string { return fmt.Sprintf("%08x-1c0e-4d5a-9d8e-%012x", i, i*7919) }

// benchPolicy builds a policy of n mappings shaped like a real estate: most
// map one group to one or two roles, some add MFA or a scope, every tenth
// maps an app role, and a few deny and SoD rules sit on top.
func benchPolicy(tb testing.TB, n int) *Policy {
	tb.Helper()
	p, err := ParsePolicy([]byte(benchYAML(n)))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func benchYAML(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nissuers:\n  - {name: entra, issuer: %q}\ngroups:\n", benchIssuer)
	for i := 0; i < n+10; i++ {
		fmt.Fprintf(&b, "  - {id: %s, name: G%d}\n", benchGUID(i), i)
	}
	nRoles := n/4 + 2
	b.WriteString("roles:\n")
	for r := 0; r < nRoles; r++ {
		fmt.Fprintf(&b, "  - {name: R%d, permissions: [app:p%d, app:read]}\n", r, r)
	}
	b.WriteString("mappings:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - id: m%d\n    when:\n      group: G%d\n", i, i)
		switch {
		case i%10 == 1:
			b.WriteString("      mfa: true\n")
		case i%10 == 2:
			fmt.Fprintf(&b, "      scope: Scope.%d\n", i%5)
		case i%10 == 3:
			fmt.Fprintf(&b, "      any: [{app_role: Role.%d}, {app_role: Role.X%d}]\n", i%7, i)
		}
		fmt.Fprintf(&b, "    grant: {roles: [R%d, R%d]}\n", i%nRoles, (i+1)%nRoles)
	}
	fmt.Fprintf(&b, "deny:\n  - {id: leaver, reason: revoked, when: {group: G%d}}\n", n+1)
	fmt.Fprintf(&b, "separation_of_duties:\n  - {id: sod, roles: [R0, R%d]}\n", nRoles/2)
	return b.String()
}

// benchClaims is a realistic token: 20 groups (three of them mapped), 3 app
// roles and 2 scopes, with MFA.
func benchClaims(n int) *idbridge.Claims {
	c := &idbridge.Claims{
		Issuer: benchIssuer, TenantID: "9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c",
		Roles:  []string{"Role.1", "Role.3", "Task.Write"},
		Scopes: []string{"Scope.2", "User.Read"},
		AMR:    []string{"pwd", "mfa"},
	}
	for i := 0; i < 17; i++ {
		c.Groups = append(c.Groups, benchGUID(100000+i)) // unmapped
	}
	c.Groups = append(c.Groups, benchGUID(n/2), benchGUID(n/2+1), benchGUID(n/2+2))
	return c
}

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{50, 1000, 10000} {
		p := benchPolicy(b, n)
		c := benchClaims(n)
		if d := p.Decide(c); !d.OK() || d.nMaps < 2 {
			b.Fatalf("n=%d: bench token should be allowed through 2+ mappings: %v %v", n, d.Err(), d.Mappings())
		}
		b.Run(fmt.Sprintf("mappings=%d", n), func(b *testing.B) { benchDecide(b, p, c) })
	}
}

// benchDecide reports the thread's CPU time per decision next to wall
// time, which on a shared machine also counts other processes' turns.
func benchDecide(b *testing.B, p *Policy, c *idbridge.Claims) {
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		if d := p.Decide(c); !d.OK() {
			b.Fatal("denied")
		}
	}
}

func BenchmarkAllowed(b *testing.B) {
	p := benchPolicy(b, 1000)
	d := p.Decide(benchClaims(1000))
	b.ReportAllocs()
	for b.Loop() {
		if !d.Allowed("app:read") || d.Allowed("app:nothing") {
			b.Fatal("wrong answer")
		}
	}
}

func BenchmarkParsePolicy(b *testing.B) {
	var src strings.Builder
	fmt.Fprintf(&src, "version: 1\nissuers: [{name: e, issuer: %q}]\ngroups:\n", benchIssuer)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&src, "  - {id: %s, name: G%d}\n", benchGUID(i), i)
	}
	src.WriteString("roles: [{name: R, permissions: [p]}]\nmappings:\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&src, "  - {id: m%d, when: {group: G%d}, grant: {roles: [R]}}\n", i, i)
	}
	data := []byte(src.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePolicy(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideVariants measures the paths the realistic token does not
// take: groups written in upper case (folded without allocating) and a
// multi-tenant {tenantid} issuer, both against 1,000 mappings.
func BenchmarkDecideVariants(b *testing.B) {
	p := benchPolicy(b, 1000)
	upper := benchClaims(1000)
	for i, g := range upper.Groups {
		upper.Groups[i] = strings.ToUpper(g)
	}
	tmpl, err := ParsePolicy([]byte(strings.Replace(benchYAML(1000),
		fmt.Sprintf("{name: entra, issuer: %q}", benchIssuer),
		`{name: entra, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", tenants: [9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c]}`, 1)))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		p    *Policy
		c    *idbridge.Claims
	}{
		{"upper-case-groups", p, upper},
		{"tenant-template", tmpl, benchClaims(1000)},
	} {
		if d := bc.p.Decide(bc.c); !d.OK() {
			b.Fatalf("%s: %v", bc.name, d.Err())
		}
		b.Run(bc.name, func(b *testing.B) { benchDecide(b, bc.p, bc.c) })
	}
}
