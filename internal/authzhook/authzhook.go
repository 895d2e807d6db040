// Package authzhook lets middleware's guard, which records its own authz
// event for each request it decides, decide with an rbac policy without
// the policy's per-decision event (rbac.Options.AuditDecisions), so that
// a request leaves exactly one authz event.
package authzhook

// DecideQuiet is set by package rbac when it is initialized, to a
// func(*rbac.Policy, context.Context, *idbridge.Claims) rbac.Decision that
// decides without recording the decision. It is typed any because this
// package cannot import rbac; middleware asserts the type once.
var DecideQuiet any
