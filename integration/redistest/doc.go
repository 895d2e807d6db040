// Package redistest runs a real redis-server on a random 127.0.0.1 port
// with a temporary directory, so idbridge's Redis code is tested against
// the server it meets in production rather than a fake.
//
// # Use
//
//	srv := redistest.Start(t) // stopped by PID when the test ends
//	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
//
// [Server.Stop] kills the server at once (a "Redis down" test), and
// [Server.Restart] starts it again on the same port with the same data:
// the server writes an append-only file with fsync on every write, so
// nothing acknowledged is lost, even to SIGKILL. [NewServer] does the same
// without a testing.TB.
//
// # Installing redis-server
//
// Debian and Ubuntu (what CI runs; .ci/setup does it):
//
//	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server
//
// The package's own service is not used. When redis-server is missing,
// [Start] calls testenv.Missing: the test is skipped locally and fails when
// IDBRIDGE_REQUIRE_INTEGRATION=1. Tested with Redis 7.0 (Debian 12).
package redistest
