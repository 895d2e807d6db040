package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseAndStatus(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		runErr     error // what run returns after a successful parse
		want       int
		wantStderr string // substring; "" means nothing beyond the usage
	}{
		{"help", []string{"-h"}, nil, 0, ""},
		{"long help", []string{"-help"}, nil, 0, ""},
		{"double-dash help", []string{"--help"}, nil, 0, ""},
		{"unknown flag", []string{"-nope"}, nil, 2, "flag provided but not defined: -nope"},
		{"bad value", []string{"-n", "x"}, nil, 2, `invalid value "x" for flag -n`},
		{"ok", nil, nil, 0, ""},
		{"run fails", nil, errors.New("policy does not load"), 1, "cmd: policy does not load\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
			fs.SetOutput(&stderr)
			fs.Int("n", 0, "a number")
			err := Parse(fs, tt.args)
			if err == nil {
				err = tt.runErr
			}
			if got := Status(&stderr, "cmd", err); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
			out := stderr.String()
			if strings.Contains(out, "help requested") {
				t.Errorf("stderr reports help as an error: %q", out)
			}
			if tt.wantStderr != "" && !strings.Contains(out, tt.wantStderr) {
				t.Errorf("stderr %q, want %q", out, tt.wantStderr)
			}
			if len(tt.args) > 0 && !strings.Contains(out, "Usage of cmd:") {
				t.Errorf("no usage printed: %q", out)
			}
		})
	}
}

func TestLoadKeyPair(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	cert := func(v string) Setting { return Setting{Flag: "tls-cert", Env: "APP_TLS_CERT", Value: v} }
	key := func(v string) Setting { return Setting{Flag: "tls-key", Env: "APP_TLS_KEY", Value: v} }
	tests := []struct {
		name       string
		cert, key  string
		wantErr    string // prefix
		wantSuffix string
	}{
		{"plaintext", "", "", "", ""},
		{"pair", certFile, keyFile, "", ""},
		{"cert without key", certFile, "",
			"-tls-cert (APP_TLS_CERT) is set but -tls-key (APP_TLS_KEY) is empty: TLS needs the certificate's private key file (PEM); set both, or neither to serve plaintext", ""},
		{"key without cert", "", keyFile,
			"-tls-key (APP_TLS_KEY) is set but -tls-cert (APP_TLS_CERT) is empty: TLS needs the certificate file (PEM); set both, or neither to serve plaintext", ""},
		{"missing file", missing, keyFile,
			`-tls-cert (APP_TLS_CERT) "` + missing + `" and -tls-key (APP_TLS_KEY) "` + keyFile + `": want a PEM certificate and its private key: open `, "no such file or directory"},
		{"not PEM", garbage, keyFile,
			`-tls-cert (APP_TLS_CERT) "` + garbage + `" and -tls-key (APP_TLS_KEY) "` + keyFile + `": want a PEM certificate and its private key: tls: `, "PEM"},
		{"swapped", keyFile, certFile,
			`-tls-cert (APP_TLS_CERT) "` + keyFile + `" and -tls-key (APP_TLS_KEY) "` + certFile + `": want a PEM certificate and its private key: tls: `, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadKeyPair(cert(tt.cert), key(tt.key))
			if tt.wantErr == "" {
				if err != nil || (c == nil) != (tt.cert == "") {
					t.Fatalf("cert %v, err %v", c, err)
				}
				return
			}
			if err == nil || c != nil || !strings.HasPrefix(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.wantSuffix) {
				t.Fatalf("err %v\nwant prefix %q and %q", err, tt.wantErr, tt.wantSuffix)
			}
			if strings.Contains(err.Error(), "open :") {
				t.Fatalf("err names an empty file: %v", err)
			}
		})
	}
	if s := (Setting{Flag: "audit"}).String(); s != "-audit" {
		t.Errorf("flag without a variable: %q", s)
	}
}

// writePair writes a self-signed certificate and its key.
func writePair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
