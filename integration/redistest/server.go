package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbridge/idbridge/integration/testenv"
)

// Sentinel errors of [NewServer]; match them with errors.Is.
var (
	// ErrNotInstalled means redis-server is not on this machine; [Start]
	// turns it into [testenv.Missing].
	ErrNotInstalled = errors.New("redistest: redis-server not installed")
	// ErrStart means redis-server was found but did not answer PING in
	// time, or exited.
	ErrStart = errors.New("redistest: redis-server did not start")
)

// readyTimeout leaves room for a loaded CI runner; a start takes a few
// milliseconds.
const readyTimeout = 15 * time.Second

// portAttempts bounds retries when another process takes the picked port
// between our probe and the server's bind.
const portAttempts = 3

// Server is a running (or stopped) redis-server. Addr is fixed at start
// and kept across [Server.Restart]; the methods are safe for concurrent
// use by multiple goroutines.
type Server struct {
	// Addr is host:port, for goredis.Options.Addr.
	Addr string

	dir, bin string
	args     []string

	mu sync.Mutex
	p  *proc // guarded by mu: the running process, nil once stopped
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process is reaped
}

// Start runs redis-server in t.TempDir() and stops it in t.Cleanup. When
// redis-server is not installed it calls [testenv.Missing] (skip locally,
// fail under IDBRIDGE_REQUIRE_INTEGRATION=1); any other problem fails the
// test.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir() // registered first, so its cleanup runs after Stop
	s, err := NewServer(dir)
	if errors.Is(err, ErrNotInstalled) {
		testenv.Missing(t, "redis-server", "apt-get install -y redis-server")
		return nil
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
		return nil
	}
	t.Cleanup(s.Stop)
	return s
}

// NewServer is [Start] without a testing.TB. dir must be an empty
// directory the caller owns and removes; the caller must call
// [Server.Stop].
func NewServer(dir string) (*Server, error) {
	bin, err := findServer()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	s := &Server{dir: dir, bin: bin}
	for attempt := 1; ; attempt++ {
		port, err := testenv.FreePort()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStart, err)
		}
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		s.args = []string{
			// No config file: everything on the command line, so the
			// machine's /etc/redis/redis.conf cannot change the server.
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
			"--appendonly", "yes", "--appendfsync", "always", "--save", "",
			"--daemonize", "no", "--protected-mode", "yes", "--logfile", "redis.log",
		}
		s.mu.Lock()
		err = s.startLocked()
		s.mu.Unlock()
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, err
		}
	}
}

// Stop kills redis-server at once (SIGKILL: a "Redis down" test wants no
// graceful goodbye; the append-only file is already on disk) and waits
// until the process is gone. Idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart stops the server if it runs and starts it again on the same port
// with the same data; a failure fails the test.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	if err := s.startLocked(); err != nil {
		t.Fatalf("redistest: restart: %v", err)
	}
}

// PID returns the process ID of the running server, or 0 when stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil {
		return 0
	}
	return s.p.cmd.Process.Pid
}

var errPortInUse = errors.New("redistest: port already in use")

func (s *Server) startLocked() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = testenv.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	s.p = p
	if err := s.waitReady(p); err != nil {
		s.stopLocked()
		return err
	}
	return nil
}

func (s *Server) stopLocked() {
	p := s.p
	if p == nil {
		return
	}
	s.p = nil
	_ = p.cmd.Process.Kill() // fails only if it already exited
	<-p.done
}

// waitReady sends PING until +PONG, the process exits or the deadline
// passes; the back-off grows from 2 ms to 50 ms.
func (s *Server) waitReady(p *proc) error {
	deadline := time.Now().Add(readyTimeout)
	wait := 2 * time.Millisecond
	for {
		err := ping(s.Addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: no PONG on %s within %v: %w; log: %s", ErrStart, s.Addr, readyTimeout, err, s.logTail())
		}
		timer := time.NewTimer(wait)
		select {
		case <-p.done:
			timer.Stop()
			log := s.logTail()
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("%w: %w: %s", ErrStart, errPortInUse, log)
			}
			return fmt.Errorf("%w: exited (%v) before answering; log: %s", ErrStart, p.cmd.ProcessState, log)
		case <-timer.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// ping speaks RESP directly, so the harness needs no client library. While
// the server loads its append-only file it answers -LOADING, not +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(conn, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("answer %q", strings.TrimSpace(line))
	}
	return nil
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return strings.TrimSpace(string(b))
}

func findServer() (string, error) {
	for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	return "", ErrNotInstalled
}
