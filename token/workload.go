package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/idbridge/idbridge/internal/reason"
)

// ErrExpired means a credential the source depends on has expired, such as
// the federated token in a workload identity file that nobody renewed, or
// a device code the user did not approve in time (that error also matches
// [ErrSignInRequired]).
var ErrExpired = reason.New(reason.Expired, "token: credential expired")

// defaultReread is how often a federated token file is read again even when
// it seems unchanged: Kubernetes renews projected tokens well before expiry
// and a bind mount may hide the change from stat.
const defaultReread = 5 * time.Minute

// maxAssertionFile caps what is read from a federated token file.
const maxAssertionFile = 64 << 10

// FileAssertion reads a workload's federated token from a file, such as a
// Kubernetes projected service account token (AZURE_FEDERATED_TOKEN_FILE)
// or an EKS web identity token. Use its Assertion method with
// [ClientAssertion].
//
// The file is read again when its size or modification time changes, at
// least every five minutes, and whenever the cached token is within a
// minute of its own exp, which is never exceeded. It is safe for concurrent
// use by multiple goroutines.
type FileAssertion struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	cached  string    // guarded by mu
	exp     time.Time // guarded by mu: exp of cached, zero if none
	readAt  time.Time // guarded by mu
	modTime time.Time // guarded by mu
	size    int64     // guarded by mu
}

// NewFileAssertion returns a FileAssertion for path. The file need not
// exist yet.
func NewFileAssertion(path string, optFns ...func(*FileAssertionOptions)) (*FileAssertion, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: federated token file path is required", errInvalidOptions)
	}
	o, err := resolve(optFns)
	if err != nil {
		return nil, err
	}
	return &FileAssertion{path: path, now: o.Now}, nil
}

// Format prints the file's path, never the token read from it.
func (f *FileAssertion) Format(s fmt.State, _ rune) {
	fmt.Fprintf(s, "token.FileAssertion(%s)", f.path)
}

// Assertion returns the current federated token.
func (f *FileAssertion) Assertion(_ context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	fi, err := os.Stat(f.path)
	if err != nil {
		return "", f.readError(err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%w: federated token file %s is a directory", errInvalidOptions, f.path)
	}
	fresh := f.cached != "" &&
		fi.ModTime().Equal(f.modTime) && fi.Size() == f.size &&
		now.Sub(f.readAt) < defaultReread &&
		(f.exp.IsZero() || now.Before(f.exp.Add(-time.Minute)))
	if fresh {
		return f.cached, nil
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return "", f.readError(err)
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxAssertionFile+1))
	fh.Close()
	if err != nil {
		return "", unavailable("federated token file", err)
	}
	if len(b) > maxAssertionFile {
		return "", fmt.Errorf("%w: federated token file is larger than %d bytes", errInvalidOptions, maxAssertionFile)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%w: federated token file is empty", errInvalidOptions)
	}
	exp, _ := jwtExpiry(tok)
	if !exp.IsZero() && !now.Before(exp) {
		f.cached = ""
		return "", fmt.Errorf("%w: federated token in file expired at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	f.cached, f.exp, f.readAt, f.modTime, f.size = tok, exp, now, fi.ModTime(), fi.Size()
	return tok, nil
}

// readError classes a failure to open the file. A file that is not there
// or not readable is a deployment mistake (a volume not mounted, a wrong
// path), not an IdP outage: it is errInvalidOptions, naming the path. Any
// other I/O error may pass.
func (f *FileAssertion) readError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: federated token file %s does not exist (is the projected service account token mounted?)", errInvalidOptions, f.path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: federated token file %s is not readable by this process", errInvalidOptions, f.path)
	}
	return unavailable("reading federated token file", err)
}
