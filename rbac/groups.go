package rbac

import (
	"context"

	"github.com/idbridge/idbridge"
)

// GroupSource resolves a user's groups when the token does not carry them:
// Entra leaves out the groups claim past 200 groups (overage) and points to
// Microsoft Graph instead. Implementations live in rbac/graph (Graph
// getMemberObjects) and rbac/ldap (AD/LDAP with nested groups);
// [GroupSourceFunc] adapts a function.
//
// Groups must be safe for concurrent use by multiple goroutines and return
// group IDs of the kind the issuer declares (group_ids); they are matched
// as [NormalizeGroupID] describes.
// An error fails the decision closed with [ErrGroupSource].
type GroupSource interface {
	Groups(ctx context.Context, c *idbridge.Claims) ([]string, error)
}

// GroupSourceFunc adapts a function to a [GroupSource].
type GroupSourceFunc func(ctx context.Context, c *idbridge.Claims) ([]string, error)

// Groups calls f(ctx, c).
func (f GroupSourceFunc) Groups(ctx context.Context, c *idbridge.Claims) ([]string, error) {
	return f(ctx, c)
}
