//go:build ignore

// gen_testkeys writes testkeys.pem: RSA keys the provider hands out before
// it generates its own, because generating a 2048-bit key can take a second
// on a loaded machine. Run: go run gen_testkeys.go
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log"
	"os"
)

const count = 16

func main() {
	out := []byte("# Test-only RSA keys for integration/idp; public by design, never trust them.\n# Key 0 is the cbs-batch client key; the others are initial signing keys.\n")
	for range count {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			log.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	if err := os.WriteFile("testkeys.pem", out, 0o644); err != nil {
		log.Fatal(err)
	}
}
