package redistest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/redistest"
)

// do sends one command in RESP and returns the first reply line.
func do(t *testing.T, addr string, args ...string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		cmd += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, cmd); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(line, "$") && line != "$-1\r\n" {
		line, _ = r.ReadString('\n')
	}
	return strings.TrimSpace(line)
}

// Data written before a SIGKILL is there after Restart, on the same port.
func TestStopRestartKeepsData(t *testing.T) {
	srv := redistest.Start(t)
	if got := do(t, srv.Addr, "SET", "leaver", "leo"); got != "+OK" {
		t.Fatalf("SET = %q", got)
	}
	pid := srv.PID()
	srv.Stop()
	if srv.PID() != 0 {
		t.Fatal("PID after Stop")
	}
	if _, err := net.DialTimeout("tcp", srv.Addr, 200*time.Millisecond); err == nil {
		t.Fatal("server still answers after Stop")
	}
	srv.Restart(t)
	if srv.PID() == pid || srv.PID() == 0 {
		t.Fatalf("PID %d after restart (was %d)", srv.PID(), pid)
	}
	if got := do(t, srv.Addr, "GET", "leaver"); got != "leo" {
		t.Fatalf("GET after restart = %q, want leo", got)
	}
	srv.Stop()
	srv.Stop() // idempotent
}

func TestTwoServers(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr == b.Addr {
		t.Fatal("same address")
	}
	do(t, a.Addr, "SET", "k", "a")
	if got := do(t, b.Addr, "GET", "k"); got != "$-1" {
		t.Fatalf("servers share data: %q", got)
	}
}
