// Package authzhook lets middleware's guard, which records its own authz
// event for each request it decides, decide with an rbac policy without
// the policy's per-decision event (rbac.Options.AuditDecisions), so that
// a request leaves exactly one authz event.
//
// The guard marks the context it passes to rbac.Policy.DecideContext with
// [Quiet]; rbac checks [IsQuiet]. Only idbridge packages can import this
// package, so users cannot silence a policy's audit this way.
package authzhook

import "context"

type quietKey struct{}

// Quiet returns ctx marked so that rbac does not record the decisions
// made with it: the caller records them itself.
func Quiet(ctx context.Context) context.Context {
	return context.WithValue(ctx, quietKey{}, true)
}

// IsQuiet reports whether ctx was marked by [Quiet].
func IsQuiet(ctx context.Context) bool {
	q, _ := ctx.Value(quietKey{}).(bool)
	return q
}
