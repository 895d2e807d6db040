// Package bench compares idbridge with other Go libraries on the same inputs, so
// that claims about its cost can be checked on any machine.
//
// # Layout
//
// The package has no API: everything is in test files. jwt_test.go compares
// JWT validation (idbridge jwks, golang-jwt with keyfunc, go-oidc, jwx),
// token_test.go compares cached token retrieval (idbridge token.Cache and
// oauth2.ReuseTokenSource), and rbac_test.go compares authorization decisions
// (idbridge rbac and casbin). Each file has a test that every compared library
// accepts the same input and reaches the same answer, so the benchmarks
// measure equal work.
//
// # Why a separate module
//
// The comparison libraries are dependencies of this module only, so the SDK's
// own go.mod stays lean.
//
// # Running
//
//	go test -run '^$' -bench . -benchmem
//
// See README.md for the results of one run.
package bench
