// Package azureit tests token/azure's workload identity against the
// in-process OpenID provider (integration/idp): azidentity's own client,
// over TLS, with the federated token file as its client assertion.
package azureit
