package bench

import (
	"fmt"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
)

// rbacShape is one authorization estate, expressed identically for every
// compared library: n mappings, mapping i grants group i two roles, and
// role r carries the permissions app:p<r> and app:read. The shape follows
// rbac/bench_test.go without its MFA, scope, deny and separation-of-duties
// conditions, which casbin's plain RBAC model cannot express.
type rbacShape struct {
	n      int
	nRoles int
	users  []*rbacUser
}

// rbacUser is one caller: a verified token with 20 groups.
type rbacUser struct {
	name   string
	claims *idbridge.Claims
}

// rbacRequest is one question asked of every library.
type rbacRequest struct {
	user     *rbacUser
	perm     string // idbridge form, "app:read"
	obj, act string // casbin form, "app", "read"
}

func rbacGroup(i int) string { return fmt.Sprintf("%08x-1c0e-4d5a-9d8e-%012x", i, i*7919) }

func newRBACShape(n int) *rbacShape {
	s := &rbacShape{n: n, nRoles: n/4 + 2}
	user := func(name string, mapped ...int) *rbacUser {
		c := &idbridge.Claims{Issuer: issuer, TenantID: tenantID, ObjectID: name}
		for i := range 20 - len(mapped) {
			c.Groups = append(c.Groups, rbacGroup(100000+i)) // not in the policy
		}
		for _, m := range mapped {
			c.Groups = append(c.Groups, rbacGroup(m))
		}
		u := &rbacUser{name: name, claims: c}
		s.users = append(s.users, u)
		return u
	}
	// The users are created in this order; rbacRequests relies on it.
	user("member", n/2, n/2+1, n/2+2) // 3 mapped groups, 17 others
	user("outsider")                  // 20 unmapped groups
	return s
}

// rolesOf returns the roles mapping i grants.
func (s *rbacShape) rolesOf(i int) [2]int { return [2]int{i % s.nRoles, (i + 1) % s.nRoles} }

// rbacRequests are the benchmarked questions with the answer every library
// must give.
func (s *rbacShape) rbacRequests() []struct {
	name string
	req  rbacRequest
	want bool
} {
	member, outsider := s.users[0], s.users[1]
	own := fmt.Sprintf("p%d", s.rolesOf(s.n / 2)[0])
	return []struct {
		name string
		req  rbacRequest
		want bool
	}{
		{"allow", rbacRequest{member, "app:read", "app", "read"}, true},
		{"allow_own", rbacRequest{member, "app:" + own, "app", own}, true},
		{"deny_perm", rbacRequest{member, "app:write", "app", "write"}, false},
		{"deny_nogroup", rbacRequest{outsider, "app:read", "app", "read"}, false},
	}
}

// yaml renders the shape as an idbridge policy.
func (s *rbacShape) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nissuers:\n  - {name: entra, issuer: %q}\ngroups:\n", issuer)
	for i := range s.n {
		fmt.Fprintf(&b, "  - {id: %s, name: G%d}\n", rbacGroup(i), i)
	}
	b.WriteString("roles:\n")
	for r := range s.nRoles {
		fmt.Fprintf(&b, "  - {name: R%d, permissions: [app:p%d, app:read]}\n", r, r)
	}
	b.WriteString("mappings:\n")
	for i := range s.n {
		r := s.rolesOf(i)
		fmt.Fprintf(&b, "  - {id: m%d, when: {group: G%d}, grant: {roles: [R%d, R%d]}}\n", i, i, r[0], r[1])
	}
	return b.String()
}

// casbinModel is casbin's documented basic RBAC model (g links a subject to
// a role, transitively, so user → group → role works with one g), with the
// matcher's cheap string comparisons moved before g(): the expression
// short-circuits, which makes casbin 1.5-3x faster here than the documented
// order. The comparison gives casbin its best plain configuration.
const casbinModel = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.obj == p.obj && r.act == p.act && g(r.sub, p.sub)
`

// casbinEnforcer loads the shape into casbin: p rules for role
// permissions, g rules for group → role and, when withUsers, g rules for
// each user's token groups (user → group).
func (s *rbacShape) casbinEnforcer(tb testing.TB, withUsers bool) *casbin.Enforcer {
	tb.Helper()
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		tb.Fatal(err)
	}
	var p, g [][]string
	for r := range s.nRoles {
		role := fmt.Sprintf("R%d", r)
		p = append(p, []string{role, "app", fmt.Sprintf("p%d", r)}, []string{role, "app", "read"})
	}
	for i := range s.n {
		for _, r := range s.rolesOf(i) {
			g = append(g, []string{rbacGroup(i), fmt.Sprintf("R%d", r)})
		}
	}
	if withUsers {
		for _, u := range s.users {
			for _, grp := range u.claims.Groups {
				g = append(g, []string{u.name, grp})
			}
		}
	}
	if _, err := e.AddPolicies(p); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.AddGroupingPolicies(g); err != nil {
		tb.Fatal(err)
	}
	return e
}

// decideFunc answers one request.
type decideFunc func(r rbacRequest) (bool, error)

type rbacLib struct {
	name  string
	setup func(tb testing.TB, s *rbacShape) decideFunc
}

var rbacLibs = []rbacLib{
	{name: "raw", setup: func(tb testing.TB, s *rbacShape) decideFunc {
		// The floor: two hand-built maps, group → roles and role →
		// permissions, walked over the token's groups.
		groupRoles := make(map[string][2]int, s.n)
		for i := range s.n {
			groupRoles[rbacGroup(i)] = s.rolesOf(i)
		}
		rolePerms := make([]map[string]bool, s.nRoles)
		for r := range rolePerms {
			rolePerms[r] = map[string]bool{fmt.Sprintf("app:p%d", r): true, "app:read": true}
		}
		return func(r rbacRequest) (bool, error) {
			for _, g := range r.user.claims.Groups {
				if roles, ok := groupRoles[g]; ok && (rolePerms[roles[0]][r.perm] || rolePerms[roles[1]][r.perm]) {
					return true, nil
				}
			}
			return false, nil
		}
	}},
	{name: "idbridge", setup: func(tb testing.TB, s *rbacShape) decideFunc {
		p, err := rbac.ParsePolicy([]byte(s.yaml()))
		if err != nil {
			tb.Fatal(err)
		}
		return func(r rbacRequest) (bool, error) {
			return p.Decide(r.user.claims).Allowed(r.perm), nil
		}
	}},
	{name: "casbin", setup: func(tb testing.TB, s *rbacShape) decideFunc {
		// The usual casbin deployment: users' group memberships are kept in
		// casbin as g rules (synced from the token at sign-in, not timed).
		e := s.casbinEnforcer(tb, true)
		return func(r rbacRequest) (bool, error) {
			return e.Enforce(r.user.name, r.obj, r.act)
		}
	}},
	{name: "casbin_tokengroups", setup: func(tb testing.TB, s *rbacShape) decideFunc {
		// Stateless use, as idbridge does it: ask for each group of the
		// token until one is allowed, so no user state lives in casbin.
		e := s.casbinEnforcer(tb, false)
		return func(r rbacRequest) (bool, error) {
			for _, g := range r.user.claims.Groups {
				ok, err := e.Enforce(g, r.obj, r.act)
				if ok || err != nil {
					return ok, err
				}
			}
			return false, nil
		}
	}},
}

var rbacSizes = []int{50, 1000, 10000}

// TestRBACSameDecision checks that every compared library reaches the same
// decision for every benchmarked request, at every size.
func TestRBACSameDecision(t *testing.T) {
	for _, n := range rbacSizes {
		s := newRBACShape(n)
		for _, lib := range rbacLibs {
			t.Run(fmt.Sprintf("mappings=%d/%s", n, lib.name), func(t *testing.T) {
				decide := lib.setup(t, s)
				for _, c := range s.rbacRequests() {
					got, err := decide(c.req)
					if err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					if got != c.want {
						t.Errorf("%s: allowed = %v, want %v", c.name, got, c.want)
					}
				}
			})
		}
	}
}

// BenchmarkRBAC asks each library the same questions of the same estate at
// 50, 1,000 and 10,000 mappings.
func BenchmarkRBAC(b *testing.B) {
	for _, n := range rbacSizes {
		s := newRBACShape(n)
		decide := make([]decideFunc, len(rbacLibs))
		for i, lib := range rbacLibs {
			decide[i] = lib.setup(b, s)
		}
		for _, c := range s.rbacRequests() {
			for i, lib := range rbacLibs {
				decide := decide[i]
				b.Run(fmt.Sprintf("mappings=%d/%s/%s", n, c.name, lib.name), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						got, err := decide(c.req)
						if err != nil || got != c.want {
							b.Fatalf("allowed = %v, %v; want %v", got, err, c.want)
						}
					}
				})
			}
		}
	}
}
