// Package cli holds what every example command does the same way at its
// edges: parsing flags so that -h is a request, not a failure, turning
// run's error into an exit status, and naming the flag and environment
// variable in configuration errors.
package cli

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
)

// ErrUsage marks a bad command line; the flag package has already printed
// the problem and the usage.
var ErrUsage = errors.New("usage")

// Parse parses args into fs, a ContinueOnError FlagSet. It returns
// [flag.ErrHelp] for -h and -help (the usage is printed) and wraps any
// other parse error in [ErrUsage].
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUsage, err)
}

// Status returns the exit status of a command whose run returned err: 0
// for nil and for -h (help was asked for and printed), 2 for [ErrUsage]
// (already printed), 1 for anything else, which it writes to w as
// "name: err".
func Status(w io.Writer, name string, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	fmt.Fprintf(w, "%s: %v\n", name, err)
	return 1
}

// Setting is one configuration value as the person running the command
// gave it: a flag, and the environment variable its default comes from.
// Configuration errors name both, so the fix is obvious whichever was used.
type Setting struct {
	Flag, Env, Value string
}

// String names the setting: "-tls-key (ANALYTICS_TLS_KEY)".
func (s Setting) String() string {
	if s.Env == "" {
		return "-" + s.Flag
	}
	return "-" + s.Flag + " (" + s.Env + ")"
}

// LoadKeyPair loads a server's TLS certificate and private key (PEM
// files). Both empty means plaintext: nil, nil. One without the other, or
// files that are not a matching PEM pair, are errors naming both settings.
func LoadKeyPair(cert, key Setting) (*tls.Certificate, error) {
	switch {
	case cert.Value == "" && key.Value == "":
		return nil, nil
	case key.Value == "":
		return nil, fmt.Errorf("%s is set but %s is empty: TLS needs the certificate's private key file (PEM); set both, or neither to serve plaintext", cert, key)
	case cert.Value == "":
		return nil, fmt.Errorf("%s is set but %s is empty: TLS needs the certificate file (PEM); set both, or neither to serve plaintext", key, cert)
	}
	c, err := tls.LoadX509KeyPair(cert.Value, key.Value)
	if err != nil {
		return nil, fmt.Errorf("%s %q and %s %q: want a PEM certificate and its private key: %w", cert, cert.Value, key, key.Value, err)
	}
	return &c, nil
}
