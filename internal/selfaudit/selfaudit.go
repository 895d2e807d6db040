// Package selfaudit tells middleware's guard whether a validator records
// its own token.validated and token.rejected events, without a public
// method for it on every validator: the packages whose validators audit
// (jwks, jwks/revocation, token) register a check when they are
// initialized.
package selfaudit

// checks are the registered checks; appended to only by package
// initialization, so reads need no lock.
var checks []func(v any) (audits, known bool)

// Register adds a check that answers, for a validator of its own package's
// type (known), whether it audits. Call it from an init function.
func Register(check func(v any) (audits, known bool)) {
	checks = append(checks, check)
}

// Audits reports whether v records its own token events; false for a
// validator no registered check knows.
func Audits(v any) bool {
	for _, c := range checks {
		if a, ok := c(v); ok {
			return a
		}
	}
	return false
}
