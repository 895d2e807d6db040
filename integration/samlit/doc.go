// Package samlit tests the saml packages against real peers: crewjam/saml's
// IdentityProvider shaped as an Entra tenant (integration/samlpeer) and
// Python moto's STS and S3 (integration/mototest).
package samlit
