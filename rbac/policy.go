package rbac

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/authzhook"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
	"github.com/idbridge/idbridge/internal/reloadcheck"
)

// Size limits for a policy file.
const (
	// defaultMaxPolicySize fits tens of thousands of mappings.
	defaultMaxPolicySize = 16 << 20
	minPolicySize        = 1 << 10
	maxPolicySize        = 256 << 20
)

// Options configure a [Policy]. They are copied at construction.
type Options struct {
	// Groups resolves groups when a token omits them (Entra overage). nil
	// means overage fails closed with [ErrGroupsOverage]. A graph.Source
	// serves one tenant; for a {tenantid} issuer, route by the claims' tid
	// with a [GroupSourceFunc].
	Groups GroupSource
	// GroupSources, keyed by the policy's issuer name, replace the groups
	// claim of that issuer's tokens entirely: the source is asked on every
	// decision, so it should cache (rbac/ldap: Options.GroupsTTL). Use it when an issuer's tokens carry
	// no groups at all, or when the directory is the authority (an LDAP
	// source for on-prem users). Each source's groups must be IDs of that
	// issuer's group_ids kind.
	GroupSources map[string]GroupSource
	// Audit receives policy.reloaded, authz.allowed and authz.denied
	// events; nil disables audit.
	Audit slog.Handler
	// AuditDecisions makes [Policy.Decide] and [Policy.DecideContext]
	// record each decision as an authz.allowed or authz.denied event
	// without a permission (with Audit), for callers that decide outside
	// [Policy.Authorize] and the middleware guards: federation.RoleFor on a
	// decision, a custom check of Decision.Roles. Authorize and a guard
	// that audits record their own event for the decision instead, so
	// every decision is recorded once; DecideJSON and Test record none.
	AuditDecisions bool
	// Now is the clock for audit durations; nil means time.Now.
	Now func() time.Time
	// MaxSize bounds the policy file in bytes; 0 means 16 MiB, which fits
	// tens of thousands of mappings. Clamped to [1 KiB, 256 MiB].
	MaxSize int64
	// Name labels a policy parsed from bytes in error messages; "" means
	// "policy". Files use their base name.
	Name string
}

// Policy is a loaded, compiled authorization policy. Decisions read the
// current compiled form through one atomic load, so [Policy.Reload] swaps
// policies without locks on the decision path and a decision never sees a
// half-loaded policy.
//
// A Policy is safe for concurrent use by multiple goroutines. It runs no
// goroutines and needs no Close.
type Policy struct {
	cur   atomic.Pointer[compiled]
	opts  Options
	path  string
	audit *audit.Logger

	mu     sync.Mutex      // serializes reloads
	checks reloadcheck.Set // a reload that one of these refuses is not swapped in
}

func init() {
	reloadcheck.Register(func(policy any) (*reloadcheck.Set, func(func())) {
		p, ok := policy.(*Policy)
		if !ok || p == nil {
			return nil, nil
		}
		return &p.checks, func(fn func()) {
			p.mu.Lock()
			defer p.mu.Unlock()
			fn()
		}
	})
}

// NewPolicy loads and compiles the policy file at path. Any problem in the
// file fails the load; the error joins one [*PolicyError] per problem, each
// with its line, and matches [ErrInvalidPolicy].
func NewPolicy(path string, optFns ...func(*Options)) (*Policy, error) {
	p, err := newPolicy(optFns)
	if err != nil {
		return nil, err
	}
	p.path = path
	s, err := p.loadFile()
	if err != nil {
		return nil, err
	}
	p.cur.Store(s)
	return p, nil
}

// ParsePolicy compiles a policy from its YAML text, for policies that come
// from somewhere other than a file (embedded, fetched, generated).
func ParsePolicy(data []byte, optFns ...func(*Options)) (*Policy, error) {
	p, err := newPolicy(optFns)
	if err != nil {
		return nil, err
	}
	s, err := p.compileBytes(p.opts.Name, data)
	if err != nil {
		return nil, err
	}
	p.cur.Store(s)
	return p, nil
}

func newPolicy(optFns []func(*Options)) (*Policy, error) {
	o := option.New(optFns)
	if o.Now == nil {
		o.Now = time.Now
	}
	option.Default(&o.MaxSize, defaultMaxPolicySize)
	option.Clamp(&o.MaxSize, minPolicySize, maxPolicySize)
	option.Default(&o.Name, "policy")
	if o.GroupSources != nil {
		m := make(map[string]GroupSource, len(o.GroupSources))
		for k, v := range o.GroupSources {
			if v == nil {
				return nil, fmt.Errorf("rbac: %w: GroupSources[%q] is nil", idbridge.ErrInvalidOptions, k)
			}
			m[k] = v
		}
		o.GroupSources = m
	}
	return &Policy{opts: o, audit: audit.New(o.Audit)}, nil
}

func (p *Policy) loadFile() (*compiled, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return nil, fmt.Errorf("%w: open: %w", ErrInvalidPolicy, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, p.opts.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read: %w", ErrInvalidPolicy, err)
	}
	return p.compileBytes(filepath.Base(p.path), data)
}

func (p *Policy) compileBytes(name string, data []byte) (*compiled, error) {
	if int64(len(data)) > p.opts.MaxSize {
		return nil, &PolicyError{File: name, Msg: fmt.Sprintf("policy larger than %d bytes", p.opts.MaxSize)}
	}
	return compileYAML(name, data)
}

// compileYAML parses and compiles, or returns every problem found.
func compileYAML(name string, data []byte) (*compiled, error) {
	d := &decoder{file: name}
	var f fileDoc
	if err := readPolicy(d, data, &f); err != nil {
		return nil, policyError(name, err)
	}
	if len(d.errs) > 0 {
		return nil, d.joined()
	}
	s := compile(name, data, &f, d)
	if len(d.errs) > 0 {
		return nil, d.joined()
	}
	return s, nil
}

func (d *decoder) joined() error {
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into a
// PolicyError with the line, offset lines into the file.
func yamlError(name string, err error, offset int) error {
	msg := err.Error()
	var line int
	if n, _ := fmt.Sscanf(msg, "yaml: line %d:", &line); n == 1 {
		line += offset
		if i := bytes.IndexByte([]byte(msg), ':'); i >= 0 {
			if j := bytes.IndexByte([]byte(msg[i+1:]), ':'); j >= 0 {
				msg = msg[i+1+j+1:]
			}
		}
	}
	if line == 0 && offset > 0 {
		// yaml.v3 names no line for the first of a piece of the file.
		line, msg = offset+1, strings.TrimPrefix(msg, "yaml: ")
	}
	return &PolicyError{File: name, Line: line, Msg: "YAML syntax: " + trimSpace(msg)}
}

func trimSpace(s string) string { return string(bytes.TrimSpace([]byte(s))) }

// Reload re-reads the policy file and swaps it in atomically. A file that
// does not load leaves the current policy in place and returns the
// problems. So does a policy that would break a middleware guard built on
// this one (a route's requirement it no longer declares, an issuer the
// guard's validator trusts that it drops): the error is the guard's
// start-up error for it (middleware.ErrMisconfigured, or
// idbridge.ErrInvalidOptions for an issuer). Either way a policy.reloaded
// audit event records the outcome.
func (p *Policy) Reload(ctx context.Context) error {
	if p.path == "" {
		// Reload is for policies loaded with NewPolicy.
		return fmt.Errorf("rbac: %w: the policy has no file to reload", idbridge.ErrInvalidOptions)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start := p.opts.Now()
	s, err := p.loadFile()
	return p.swap(ctx, start, s, err)
}

// Update compiles data and swaps it in atomically, like [Policy.Reload] for
// a policy that does not come from a file.
func (p *Policy) Update(ctx context.Context, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := p.opts.Now()
	name := p.opts.Name
	if p.path != "" {
		name = filepath.Base(p.path)
	}
	s, err := p.compileBytes(name, data)
	return p.swap(ctx, start, s, err)
}

func (p *Policy) swap(ctx context.Context, start time.Time, s *compiled, err error) error {
	old := p.cur.Load()
	if err == nil {
		if cerr := p.checks.Run(candidate(p, s)); cerr != nil {
			err = fmt.Errorf("rbac: policy %s not swapped in, the current one (%s) stays: %w", s.version, old.version, cerr)
		}
	}
	ev := audit.Event{Name: audit.PolicyReloaded, Duration: p.opts.Now().Sub(start)}
	attrs := []slog.Attr{slog.String("policy_previous", old.version)}
	if err != nil {
		ev.Outcome, ev.Reason = audit.Failure, reason.Of(err)
		if ev.Reason == "" {
			ev.Reason = reason.Malformed
		}
		attrs = append(attrs, slog.Int("problems", countJoined(err)), slog.String("error", firstLine(err)))
	} else {
		p.cur.Store(s)
		ev.Outcome = audit.Success
		attrs = append(attrs, slog.String("policy_version", s.version), slog.Int("mappings", len(s.mappings)))
	}
	ev.Attrs = attrs
	p.audit.Emit(ctx, ev)
	return err
}

// candidate is s, not yet in use, as a Policy that answers what it
// declares, for the checks of a reload.
func candidate(p *Policy, s *compiled) *Policy {
	c := &Policy{opts: p.opts, path: p.path, audit: audit.New(nil)}
	c.cur.Store(s)
	return c
}

func countJoined(err error) int {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return len(j.Unwrap())
	}
	return 1
}

func firstLine(err error) string {
	s := err.Error()
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// Version identifies the current policy: the first 12 hex digits of the
// SHA-256 of its file.
func (p *Policy) Version() string { return p.cur.Load().version }

// Decide maps verified claims to a decision. It never calls out: when the
// token omits its groups (Entra overage) it resolves them through
// Options.Groups with a background context; use [Policy.DecideContext] to
// bound that call.
//
// For a token that carries its groups, Decide does not allocate and its
// cost depends on the token, not on the number of mappings.
//
// With Options.AuditDecisions, each decision is an audit event.
func (p *Policy) Decide(c *idbridge.Claims) Decision {
	if p.opts.AuditDecisions {
		return p.decideAudited(context.Background(), c)
	}
	return p.decideIn(context.Background(), p.cur.Load(), c, nil)
}

// DecideContext is [Policy.Decide] with a context for the group source.
func (p *Policy) DecideContext(ctx context.Context, c *idbridge.Claims) Decision {
	if p.opts.AuditDecisions && !authzhook.IsQuiet(ctx) {
		return p.decideAudited(ctx, c)
	}
	return p.decideIn(ctx, p.cur.Load(), c, nil)
}

// decideQuiet decides without recording the decision, for Authorize,
// which records it itself. (Middleware's guard does the same through
// DecideContext with a context marked by authzhook.Quiet.)
func (p *Policy) decideQuiet(ctx context.Context, c *idbridge.Claims) Decision {
	return p.decideIn(ctx, p.cur.Load(), c, nil)
}

// decideAudited decides and records the decision (Options.AuditDecisions).
func (p *Policy) decideAudited(ctx context.Context, c *idbridge.Claims) Decision {
	if !p.audit.Enabled(ctx) {
		return p.decideIn(ctx, p.cur.Load(), c, nil)
	}
	start := p.opts.Now()
	d := p.decideIn(ctx, p.cur.Load(), c, nil)
	p.audit.Emit(ctx, authzEvent(&d, c, "", d.Err(), p.opts.Now().Sub(start)))
	return d
}

// decideIn consults a group source when the issuer has one, or when the
// token omits its groups (overage), then decides.
func (p *Policy) decideIn(ctx context.Context, s *compiled, c *idbridge.Claims, x *extras) Decision {
	if c == nil || (x != nil && x.bad != "") {
		return s.decide(c, x, nil, false)
	}
	t := s.issuers[c.Issuer] // s.issuerFor, by hand: the call is not inlined
	if t == nil && len(s.templates) > 0 {
		t = s.issuerFor(c)
	}
	if t == nil || t.groups.len() == 0 {
		return s.decideFor(t, c, x, nil, false)
	}
	src := p.opts.GroupSources[t.name]
	if src == nil {
		if !t.stdGroups || len(c.Groups) > 0 || !c.GroupsOverage() {
			return s.decideFor(t, c, x, nil, false)
		}
		if src = p.opts.Groups; src == nil {
			return Decision{s: s, c: c, x: x, status: stOverage, rule: -1}
		}
	}
	groups, err := src.Groups(ctx, c)
	if err != nil {
		return Decision{s: s, c: c, x: x, status: stGroupSource, rule: -1, ext: &decisionExt{srcErr: err}}
	}
	return s.decideFor(t, c, x, groups, true)
}

// DecideJSON decides on claims given as a JSON object, as a reviewer writes
// them: for offline checks (the policycheck command) and tests. The claims
// are not verified in any way; never feed it a token from a request.
func (p *Policy) DecideJSON(claims []byte) (Decision, error) {
	c, x, err := claimsFromJSON(claims)
	if err != nil {
		return Decision{}, fmt.Errorf("rbac: %w", err)
	}
	return p.decideIn(context.Background(), p.cur.Load(), c, x), nil
}

// Authorize decides and checks one permission, and records the outcome as
// an authz.allowed or authz.denied audit event. The error wraps a sentinel
// ([ErrPermission] when the roles lack the permission) whose reason class
// middleware maps to a status code.
func (p *Policy) Authorize(ctx context.Context, c *idbridge.Claims, permission string) (Decision, error) {
	start := p.opts.Now()
	d := p.decideQuiet(ctx, c)
	err := d.Check(permission)
	if p.audit.Enabled(ctx) {
		p.audit.Emit(ctx, authzEvent(&d, c, permission, err, p.opts.Now().Sub(start)))
	}
	return d, err
}

func authzEvent(d *Decision, c *idbridge.Claims, permission string, err error, dur time.Duration) audit.Event {
	ev := audit.Event{Name: audit.AuthzAllowed, Outcome: audit.Success, Permission: permission, Duration: dur, Roles: d.Roles()}
	if err != nil {
		ev.Name, ev.Outcome, ev.Reason = audit.AuthzDenied, audit.Failure, reason.Of(err)
	}
	if c != nil {
		ev.Issuer, ev.TenantID, ev.Subject, ev.ObjectID, ev.Client = c.Issuer, c.TenantID, c.Subject, c.ObjectID, c.Client()
		jti := c.ID
		if jti == "" {
			jti = c.UTI
		}
		ev.TokenID = audit.TokenID(jti)
	}
	attrs := []slog.Attr{slog.String("policy_version", d.PolicyVersion())}
	if ms := d.Mappings(); len(ms) > 0 {
		attrs = append(attrs, slog.Any("mappings", ms))
	}
	if r := d.Rule(); r != "" {
		attrs = append(attrs, slog.String("rule", r))
	}
	ev.Attrs = attrs
	return ev
}
