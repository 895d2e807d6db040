package rbac

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/idbridge/idbridge"
)

// testCase is one compiled entry of the policy's tests: list.
type testCase struct {
	name   string
	line   int
	claims *idbridge.Claims
	x      *extras
	expect fileExpect
	adIDs  []string // expect.ad_groups as normalized IDs
}

// TestResult is the outcome of one inline policy test.
type TestResult struct {
	Name     string
	Line     int      // where the test starts in the policy file
	Passed   bool     // the decision matched every expectation
	Failures []string // what differed, one line each
	Decision Decision // the decision the test produced
}

func (c *compiler) compileTests() {
	seen := map[string]int{}
	for i, ft := range c.f.Tests {
		path := fmt.Sprintf("tests[%d]", i)
		if ft.Name == "" {
			c.err(ft.lineRec, path+".name", "every test needs a name")
		} else if line, dup := seen[ft.Name]; dup {
			c.err(ft.lineRec, path+".name", "duplicate test name %q (first at line %d)", ft.Name, line)
		}
		seen[ft.Name] = ft.Line
		tc := testCase{name: ft.Name, line: ft.Line, expect: ft.Expect}
		if ft.Claims == nil {
			c.err(ft.lineRec, path+".claims", "claims are required")
			continue
		}
		var v any
		if err := ft.Claims.Decode(&v); err != nil {
			c.err(at(ft.Claims.Line, ft.Claims.Column), path+".claims", "claims: %v", err)
			continue
		}
		js, err := json.Marshal(v)
		if err != nil {
			c.err(at(ft.Claims.Line, ft.Claims.Column), path+".claims", "claims must be a mapping with string keys")
			continue
		}
		tc.claims, tc.x, err = claimsFromJSON(js)
		if err != nil {
			c.err(at(ft.Claims.Line, ft.Claims.Column), path+".claims", "%v", err)
			continue
		}
		e := ft.Expect
		ep := path + ".expect"
		if e.Allowed == nil {
			c.err(ft.lineRec, ep+".allowed", "expect.allowed (true or false) is required")
		}
		c.roleRefs(e.Roles, ep+".roles")
		for j, p := range append(slices.Clone(e.Can), e.Cannot...) {
			if _, ok := c.out.permIdx[p.v]; !ok {
				c.err(p.lineRec, fmt.Sprintf("%s.can/cannot[%d]", ep, j), "permission %q is not granted by any role (typo?)", p.v)
			}
		}
		for j, a := range e.AWSRoles {
			if !roleARNRe.MatchString(a.v) {
				c.err(a.lineRec, fmt.Sprintf("%s.aws_roles[%d]", ep, j), "malformed IAM role ARN %q", a.v)
			}
		}
		for j, ref := range e.ADGroups {
			gi, ok := c.groupRef(ref.v)
			if !ok {
				c.err(ref.lineRec, fmt.Sprintf("%s.ad_groups[%d]", ep, j), "undeclared group %q", ref.v)
				continue
			}
			tc.adIDs = append(tc.adIDs, c.out.groups[gi].id)
		}
		if e.Reason != "" && !slices.Contains(reasonClasses, idbridge.Reason(e.Reason)) {
			c.err(e.lineRec, ep+".reason", "unknown reason class %q", e.Reason)
		}
		if e.DeniedBy != "" {
			if _, ok := c.ruleIDs[e.DeniedBy]; !ok {
				c.err(e.lineRec, ep+".denied_by", "no deny rule or separation_of_duties constraint %q", e.DeniedBy)
			}
		}
		c.out.tests = append(c.out.tests, tc)
	}
}

// Test runs the policy's inline tests against the current policy, with the
// configured group source for tests that model overage. Governance
// reviewers run it (through the policycheck command) before a mapping
// change ships; CI can run it on every commit of the policy repository.
func (p *Policy) Test(ctx context.Context) []TestResult {
	s := p.cur.Load()
	out := make([]TestResult, 0, len(s.tests))
	for _, tc := range s.tests {
		d := p.decideIn(ctx, s, tc.claims, tc.x)
		r := TestResult{Name: tc.name, Line: tc.line, Decision: d}
		r.Failures = tc.check(&d)
		r.Passed = len(r.Failures) == 0
		out = append(out, r)
	}
	return out
}

func (tc *testCase) check(d *Decision) []string {
	var f []string
	e := tc.expect
	if e.Allowed != nil && d.OK() != *e.Allowed {
		if d.OK() {
			f = append(f, fmt.Sprintf("allowed, want denied (roles %s)", strings.Join(d.Roles(), ", ")))
		} else {
			f = append(f, fmt.Sprintf("denied (%s: %v), want allowed", d.Reason(), d.Err()))
		}
	}
	if e.Roles != nil && !sameSet(d.Roles(), strs(e.Roles)) {
		f = append(f, fmt.Sprintf("roles [%s], want [%s]", strings.Join(d.Roles(), ", "), strings.Join(strs(e.Roles), ", ")))
	}
	for _, p := range e.Can {
		if !d.Allowed(p.v) {
			f = append(f, fmt.Sprintf("cannot %s, want can", p.v))
		}
	}
	for _, p := range e.Cannot {
		if d.Allowed(p.v) {
			f = append(f, fmt.Sprintf("can %s, want cannot", p.v))
		}
	}
	if e.AWSRoles != nil {
		var got []string
		for _, a := range d.AWSRoles() {
			got = append(got, a.RoleARN)
		}
		if !sameSet(got, strs(e.AWSRoles)) {
			f = append(f, fmt.Sprintf("aws roles [%s], want [%s]", strings.Join(got, ", "), strings.Join(strs(e.AWSRoles), ", ")))
		}
	}
	if e.ADGroups != nil {
		var got, names []string
		for _, g := range d.DirectoryGroups() {
			got = append(got, g.ID)
			names = append(names, g.Name)
		}
		if !sameSet(got, tc.adIDs) {
			f = append(f, fmt.Sprintf("ad groups [%s], want [%s]", strings.Join(names, ", "), strings.Join(strs(e.ADGroups), ", ")))
		}
	}
	if e.Reason != "" && string(d.Reason()) != e.Reason {
		got := d.Reason()
		if got == "" {
			got = "none (allowed)"
		}
		f = append(f, fmt.Sprintf("reason %s, want %s", got, e.Reason))
	}
	if e.DeniedBy != "" && d.Rule() != e.DeniedBy {
		f = append(f, fmt.Sprintf("denied by %q, want %q", d.Rule(), e.DeniedBy))
	}
	return f
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
