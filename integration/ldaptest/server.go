package ldaptest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
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

	"github.com/go-ldap/ldap/v3"

	"github.com/idbridge/idbridge/integration/testenv"
)

// Sentinel errors of [NewServer]; match them with errors.Is.
var (
	// ErrNotInstalled means slapd or its schema files are not on this
	// machine; [Start] turns it into [testenv.Missing].
	ErrNotInstalled = errors.New("ldaptest: OpenLDAP slapd not installed")
	// ErrConfig means the options or the directory cannot be turned into a
	// working slapd configuration.
	ErrConfig = errors.New("ldaptest: invalid configuration")
	// ErrStart means slapd was found but did not come up: slapadd failed,
	// slapd exited, or it did not answer before Options.ReadyTimeout.
	ErrStart = errors.New("ldaptest: slapd did not start")
)

// Timeouts of [Options.ReadyTimeout]: the default leaves room for a loaded
// CI runner (a normal start takes well under a second); the clamp keeps a
// typo from hanging a test run.
const (
	DefaultReadyTimeout = 15 * time.Second
	minReadyTimeout     = 100 * time.Millisecond
	maxReadyTimeout     = 2 * time.Minute
)

// portAttempts bounds retries when another process takes one of the
// pre-picked ports between our probe and slapd's bind.
const portAttempts = 3

// Options tune where slapd is found and how long it may take to start. The
// zero value suits a Debian machine with `apt-get install slapd`.
type Options struct {
	// SlapdPath is the slapd binary; "" tries /usr/sbin/slapd, other common
	// locations, then PATH.
	SlapdPath string
	// ModuleDir holds back_mdb, ppolicy, memberof and refint; "" tries
	// /usr/lib/ldap (Debian) and other distributions' directories. Modules
	// missing from it are assumed compiled into slapd.
	ModuleDir string
	// SchemaDir holds core, cosine and inetorgperson .schema files; ""
	// tries /etc/ldap/schema (Debian) and /etc/openldap/schema. Only read.
	SchemaDir string
	// ReadyTimeout bounds how long a start or restart may take before
	// [ErrStart]; 0 means [DefaultReadyTimeout]. Clamped to [100ms, 2m].
	ReadyTimeout time.Duration
	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time
}

// Server is a running (or stopped) slapd with the seeded bank directory. Its
// exported fields are fixed at start and never change, even across
// [Server.Restart]; its methods are safe for concurrent use by multiple
// goroutines.
type Server struct {
	// URL is the plain listener, ldap://127.0.0.1:port; it offers StartTLS.
	URL string
	// LDAPSURL is the TLS listener, ldaps://127.0.0.1:port.
	LDAPSURL string
	// BaseDN is [BaseDN], the suffix to search under.
	BaseDN string
	// BindDN is the read-only service account ([ReaderDN]) a client should
	// search with; it is deliberately not the rootdn, so ACL mistakes show.
	BindDN string
	// BindPassword is the password of BindDN ([ReaderPassword]).
	BindPassword string
	// RootDN is the directory manager ([RootDN]), for tests that change
	// data (add a member, lock an account).
	RootDN string
	// RootPassword is random per server.
	RootPassword string
	// CACertPEM is the PEM of the private CA that signed the server
	// certificate; see also [Server.CertPool] and [Server.TLSConfig].
	CACertPEM []byte

	ctl *control
}

// control is the mutable part of a Server, behind a pointer so copying a
// Server (or printing it) never copies a lock.
type control struct {
	dir, slapd string
	args       []string
	timeout    time.Duration
	pool       *x509.CertPool

	mu sync.Mutex
	p  *proc // guards: current slapd process; nil once stopped
}

type proc struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed after the process is reaped
	logOff int64         // size of slapd.log before this process started
}

// Start runs a seeded slapd in t.TempDir() and stops it in t.Cleanup, even
// if the test fails. When slapd is not installed it calls
// [testenv.Missing] (skip locally, fail under IDBRIDGE_REQUIRE_INTEGRATION=1);
// any other problem fails the test.
func Start(t testing.TB, optFns ...func(*Options)) *Server {
	t.Helper()
	dir := t.TempDir() // registered first, so its cleanup runs after Stop
	s, err := NewServer(dir, optFns...)
	if errors.Is(err, ErrNotInstalled) {
		testenv.Missing(t, "OpenLDAP slapd", "apt-get install -y slapd ldap-utils")
		return nil
	}
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
		return nil
	}
	t.Cleanup(s.Stop)
	return s
}

// NewServer is [Start] without a testing.TB, for examples and for one server
// shared by a package's TestMain. dir must be an empty directory the caller
// owns and removes; the caller must call [Server.Stop].
func NewServer(dir string, optFns ...func(*Options)) (*Server, error) {
	o := newOptions(optFns)
	slapd, err := findSlapd(o.SlapdPath)
	if err != nil {
		return nil, err
	}
	schemaDir, err := findSchemaDir(o.SchemaDir)
	if err != nil {
		return nil, err
	}
	moduleDir := firstDir(o.ModuleDir, moduleCandidates)
	dir, err = absDir(dir, schemaDir, moduleDir)
	if err != nil {
		return nil, err
	}

	rootPW, err := randomPassword()
	if err != nil {
		return nil, err
	}
	certs, err := writeFiles(dir, schemaDir, moduleDir, rootPW, o.Now())
	if err != nil {
		return nil, err
	}
	slapd, err = loadSeed(slapd, dir, o.SlapdPath == "")
	if err != nil {
		return nil, err
	}

	c := &control{dir: dir, slapd: slapd, timeout: o.ReadyTimeout, pool: certs.pool}
	s := &Server{
		BaseDN: BaseDN, BindDN: ReaderDN, BindPassword: ReaderPassword,
		RootDN: RootDN, RootPassword: rootPW, CACertPEM: certs.caPEM, ctl: c,
	}
	if err := s.startOnFreePorts(); err != nil {
		return nil, err
	}
	if err := addGroups(s.URL, rootPW); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w: seed groups: %w", ErrStart, err)
	}
	return s, nil
}

// newOptions applies optFns to the zero Options, then fills in the clock
// and clamps ReadyTimeout.
func newOptions(optFns []func(*Options)) Options {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.ReadyTimeout == 0:
		o.ReadyTimeout = DefaultReadyTimeout
	case o.ReadyTimeout < minReadyTimeout:
		o.ReadyTimeout = minReadyTimeout
	case o.ReadyTimeout > maxReadyTimeout:
		o.ReadyTimeout = maxReadyTimeout
	}
	return o
}

// findSchemaDir returns the schema directory, explicit or found, after
// checking that it holds the schema files slapd.conf includes.
func findSchemaDir(explicit string) (string, error) {
	schemaDir := firstDir(explicit, schemaCandidates)
	if schemaDir == "" {
		return "", fmt.Errorf("%w: no OpenLDAP schema directory (want core.schema)", ErrNotInstalled)
	}
	for _, f := range []string{"core", "cosine", "inetorgperson"} {
		if _, err := os.Stat(filepath.Join(schemaDir, f+".schema")); err != nil {
			return "", fmt.Errorf("%w: schema %s.schema: %w", ErrNotInstalled, f, err)
		}
	}
	return schemaDir, nil
}

// absDir makes the server directory absolute and checks that it and the
// schema and module directories can be written into slapd.conf.
func absDir(dir, schemaDir, moduleDir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("%w: empty directory", ErrConfig)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrConfig, err)
	}
	for _, p := range []string{dir, schemaDir, moduleDir} {
		if _, err := confPath(p); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// writeFiles writes slapd.conf, the seed LDIF and a fresh CA and server
// certificate into dir, and returns the certificates.
func writeFiles(dir, schemaDir, moduleDir, rootPW string, now time.Time) (*certSet, error) {
	rootHash, err := ssha(rootPW)
	if err != nil {
		return nil, err
	}
	certs, err := newCerts(now)
	if err != nil {
		return nil, err
	}
	conf, err := renderConf(confData{
		Dir: dir, SchemaDir: schemaDir, ModuleDir: moduleDir, Modules: modulesIn(moduleDir),
		RootHash: rootHash, Base: BaseDN, RootDN: RootDN, ReaderDN: ReaderDN,
		PolicyDN: PolicyDN, Nobody: "cn=nobody," + BaseDN,
	})
	if err != nil {
		return nil, err
	}
	seed, err := seedLDIF()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	for name, data := range map[string][]byte{
		"slapd.conf": conf, "seed.ldif": seed,
		"ca.pem": certs.caPEM, "server.pem": certs.certPEM, "server-key.pem": certs.keyPEM,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return certs, nil
}

// loadSeed runs slapadd and returns the slapd binary to run from now on:
// a found (not explicit) slapd that AppArmor keeps from reading our config
// is replaced by an unconfined copy.
func loadSeed(slapd, dir string, found bool) (string, error) {
	out, err := slapadd(slapd, dir)
	if err != nil && found && strings.Contains(string(out), "Permission denied") {
		// Ubuntu's AppArmor profile for /usr/sbin/slapd forbids reading a
		// config outside /etc/ldap; the profile attaches by path, so a copy
		// of the binary in our directory runs unconfined.
		if copied, cerr := copyBinary(slapd, filepath.Join(dir, "bin", "slapd")); cerr == nil {
			slapd = copied
			out, err = slapadd(slapd, dir)
		}
	}
	if err != nil {
		return "", fmt.Errorf("%w: slapadd: %w: %s", ErrStart, err, tail(out))
	}
	return slapd, nil
}

// startOnFreePorts starts slapd on two free ports, picking new ones up to
// portAttempts times when another process takes one first.
func (s *Server) startOnFreePorts() error {
	c := s.ctl
	for attempt := 1; ; attempt++ {
		ports, err := testenv.FreePorts(2)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStart, err)
		}
		s.URL = "ldap://127.0.0.1:" + strconv.Itoa(ports[0])
		s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(ports[1])
		c.args = []string{
			// Any -d keeps slapd in the foreground, so our PID is slapd's;
			// "none" still writes errors (bad config, port in use) to stderr.
			"-d", "none",
			"-f", filepath.Join(c.dir, "slapd.conf"),
			"-h", s.URL + "/ " + s.LDAPSURL + "/",
		}
		c.mu.Lock()
		err = c.startLocked(s.RootPassword)
		c.mu.Unlock()
		if err == nil {
			return nil
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return err
		}
	}
}

// Stop kills slapd at once (SIGKILL: a "server down" test wants no graceful
// goodbye; mdb is crash-safe, so [Server.Restart] finds the data intact) and
// waits until the process is gone and its ports are closed. It is
// idempotent and safe to call concurrently.
func (s *Server) Stop() {
	c := s.ctl
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked()
}

// Restart stops slapd if it runs and starts it again on the same ports with
// the same data, then waits until it answers; a failure fails the test.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	c := s.ctl
	c.mu.Lock()
	c.stopLocked()
	err := c.startLocked(s.RootPassword)
	c.mu.Unlock()
	if err != nil {
		t.Fatalf("ldaptest: restart: %v", err)
	}
}

// UserDN is the DN of the user with this uid under [PeopleDN]; the uid is
// escaped, so any string yields a valid DN.
func (s *Server) UserDN(uid string) string { return userDN(uid) }

// GroupDN is the DN of the group with this cn under [GroupsDN]; the cn is
// escaped, so any string yields a valid DN.
func (s *Server) GroupDN(cn string) string { return groupDN(cn) }

// CertPool returns a new pool holding only the server's CA, so a caller may
// add to it without affecting other callers.
func (s *Server) CertPool() *x509.CertPool { return s.ctl.pool.Clone() }

// TLSConfig returns a client config that trusts only the server's CA, for
// LDAPS and StartTLS; ServerName is the IP the certificate is issued for.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// String describes the server without its passwords, so a test that logs
// or fails with %v of a Server leaks nothing.
func (s Server) String() string {
	return fmt.Sprintf("ldaptest.Server{URL: %s, LDAPSURL: %s, BaseDN: %s, BindDN: %s, RootDN: %s}",
		s.URL, s.LDAPSURL, s.BaseDN, s.BindDN, s.RootDN)
}

// GoString is [Server.String], so %#v hides the passwords too.
func (s Server) GoString() string { return s.String() }

var errPortInUse = errors.New("ldaptest: port already in use")

// startLocked launches slapd with c.args and waits until a rootdn bind
// succeeds. c.mu must be held.
func (c *control) startLocked(rootPW string) error {
	logPath := filepath.Join(c.dir, "slapd.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	defer logf.Close() // the child holds its own descriptor
	off, err := logf.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	cmd := exec.Command(c.slapd, c.args...)
	cmd.Dir, cmd.Env = c.dir, slapdEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = testenv.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), logOff: off}
	go func() {
		_ = cmd.Wait() // the exit status is read from cmd.ProcessState
		close(p.done)
	}()
	c.p = p
	if err := c.waitReady(p, urlFromArgs(c.args), rootPW); err != nil {
		c.stopLocked()
		return err
	}
	return nil
}

func (c *control) stopLocked() {
	p := c.p
	if p == nil {
		return
	}
	c.p = nil
	_ = p.cmd.Process.Kill() // fails only if it already exited, which is fine
	<-p.done
}

// waitReady polls with a rootdn bind, backing off from 2ms to 50ms, until
// it succeeds, slapd exits, or the deadline passes.
func (c *control) waitReady(p *proc, url, rootPW string) error {
	deadline := time.Now().Add(c.timeout)
	wait := 2 * time.Millisecond
	for {
		err := probe(url, rootPW, time.Until(deadline))
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: no answer on %s within %v: %w; slapd log: %s",
				ErrStart, url, c.timeout, err, c.logTail(p))
		}
		timer := time.NewTimer(wait)
		select {
		case <-p.done:
			timer.Stop()
			logTail := c.logTail(p)
			if strings.Contains(logTail, "Address already in use") {
				return fmt.Errorf("%w: %w: %s", ErrStart, errPortInUse, logTail)
			}
			return fmt.Errorf("%w: slapd exited (%v) before answering; slapd log: %s",
				ErrStart, p.cmd.ProcessState, logTail)
		case <-timer.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

func probe(url, rootPW string, budget time.Duration) error {
	budget = max(min(budget, 2*time.Second), 50*time.Millisecond)
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: budget}))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetTimeout(budget)
	return conn.Bind(RootDN, rootPW)
}

// logTail returns what this slapd process wrote, at most the last 2 KiB.
func (c *control) logTail(p *proc) string {
	f, err := os.Open(filepath.Join(c.dir, "slapd.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	if _, err := f.Seek(p.logOff, io.SeekStart); err != nil {
		return "(no log: " + err.Error() + ")"
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return tail(b)
}

func tail(b []byte) string {
	const n = 2048
	if len(b) > n {
		b = b[len(b)-n:]
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "(empty)"
	}
	return s
}

func urlFromArgs(args []string) string {
	for i, a := range args {
		if a == "-h" && i+1 < len(args) {
			return strings.TrimSuffix(strings.Fields(args[i+1])[0], "/")
		}
	}
	return ""
}

// slapadd loads seed.ldif into the empty database. slapd -T add is
// slapadd (Debian ships slapadd as a link to slapd); -q skips checks that
// only matter for an existing database.
func slapadd(slapd, dir string) ([]byte, error) {
	add := exec.Command(slapd, "-T", "add", "-q",
		"-f", filepath.Join(dir, "slapd.conf"), "-l", filepath.Join(dir, "seed.ldif"))
	add.Dir, add.Env = dir, slapdEnv()
	return add.CombinedOutput()
}

func copyBinary(src, dst string) (string, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	return dst, os.WriteFile(dst, data, 0o700)
}

// slapdEnv keeps slapd and slapadd from reading the machine's ldap.conf or
// a ~/.ldaprc, so a developer's client settings cannot change the server.
func slapdEnv() []string { return append(os.Environ(), "LDAPNOINIT=1") }

func randomPassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("ldaptest: root password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// addGroups creates the seeded groups over LDAP as the rootdn, in order, so
// the memberof overlay writes memberOf on each member — including the
// Lending_RM group entry when Branch_Staff is added.
func addGroups(url, rootPW string) error {
	conn, err := ldap.DialURL(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetTimeout(5 * time.Second)
	if err := conn.Bind(RootDN, rootPW); err != nil {
		return err
	}
	for _, g := range seedGroups() {
		req := ldap.NewAddRequest(groupDN(g.cn), nil)
		req.Attribute("objectClass", []string{"groupOfNames"})
		req.Attribute("cn", []string{g.cn})
		req.Attribute("member", g.members)
		if err := conn.Add(req); err != nil {
			return fmt.Errorf("add group %s: %w", g.cn, err)
		}
	}
	return nil
}
