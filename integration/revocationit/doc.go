// Package revocationit tests the shared revocation list against a real
// redis-server (integration/redistest): replicas sharing one Redis, Redis
// stopped and restarted mid-test, a replica started after revocations, and
// propagation times over 1,000 revocations; and the SSF receiver with
// security event tokens minted by golang-jwt and delivered over HTTP.
package revocationit
