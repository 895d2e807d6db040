package jwks_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge/internal/benchcpu"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
)

const (
	benchTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	benchAPI    = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b" // the API's client ID: aud of v2.0 tokens
)

// entraLikeClaims returns the claims of a v2.0 Entra access token for a
// user in six groups; with an RS256 signature it encodes to about
// 1.9 KB, the size the benchmarks are specified for.
func entraLikeClaims(idp *jwkstest.Server, now time.Time) map[string]any {
	groups := make([]string, 6)
	for i := range groups {
		groups[i] = strings.Replace("0c3d9a2e-4f1b-4b8e-9d6a-1f2e3d4c5b6X", "X", string(rune('a'+i)), 1)
	}
	return map[string]any{
		"aud":                benchAPI,
		"iss":                idp.EntraIssuer(benchTenant),
		"iat":                now.Add(-time.Minute).Unix(),
		"nbf":                now.Add(-time.Minute).Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"aio":                "AXQAi/8YAAAA2Jk0fX7oAyN+Wq7Lkq6z3mA9C7xQ5kM0yq1n9mS2iH4o6B5vR7lU9jP1cE3fW8dK2gT6sY0hN4bV7zX1aQ==",
		"azp":                "5f1e3c2b-7a6d-4e9f-8b1c-0d2e3f4a5b6c",
		"azpacr":             "0",
		"acrs":               []string{"c1"},
		"amr":                []string{"pwd", "mfa"},
		"name":               "Amit R",
		"oid":                "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
		"preferred_username": "amit.r@contoso.com",
		"rh":                 "0.AXQAv4j5cvGGr0GRqy180BHbRw8BHl9temdOn4scDS4_SlsMAKE.",
		"roles":              []string{"LoanViewer", "KYC_ReadOnly"},
		"scp":                "Loans.Read Customers.Read",
		"groups":             groups,
		"wids":               []string{"b79fbf4d-3ef9-4689-8143-76b194e85509"},
		"sid":                "003a5e1b-7c2d-4e8f-9a0b-1c2d3e4f5a6b",
		"sub":                "Vb3XkL0xQ9mZr7Tq2WnYp4Hs6Jd8Fg1Ck5Ae3Uo7Ii0",
		"tid":                benchTenant,
		"uti":                "Qx7bY2nA9kW3mP5rT8vZ1c",
		"ver":                "2.0",
		"xms_cc":             []string{"cp1"},
		"xms_tcdt":           1289241547,
	}
}

type benchSetup struct {
	v     *jwks.Validator
	token string
	input []byte // signing input
	sig   []byte
	pub   crypto.PublicKey
}

func setupBench(b *testing.B, alg string, cache bool) benchSetup {
	b.Helper()
	now := time.Now()
	idp := jwkstest.Start(b, func(o *jwkstest.Options) { o.Algorithm = alg; o.Entra = alg == "RS256" })
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.EntraIssuer(benchTenant), JWKSURL: idp.JWKSURL()}}
		o.Tenants = []string{benchTenant}
		o.Audiences = []string{benchAPI}
		o.Algorithms = []string{alg}
		o.HTTPClient = idp.Client()
		if cache {
			o.Cache = &jwks.CacheOptions{}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	tok := idp.MintWithHeader(map[string]any{"x5t": idp.KeyID()}, entraLikeClaims(idp, now))
	if _, err := v.Validate(context.Background(), tok); err != nil { // load keys
		b.Fatal(err)
	}
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	return benchSetup{v: v, token: tok, input: []byte(tok[:i]), sig: sig, pub: idp.PublicKey()}
}

// benchRatio alternates the raw verification and a full validation in one
// loop and reports their ratio, so both see the same machine load; the
// separate Raw and Validate results are only comparable on a quiet machine.
func benchRatio(b *testing.B, s benchSetup, raw func() bool) {
	ctx := context.Background()
	var tRaw, tVal time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if !raw() {
			b.Fatal("raw verify failed")
		}
		t1 := time.Now()
		if _, err := s.v.Validate(ctx, s.token); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		tRaw += t1.Sub(t0)
		tVal += t2.Sub(t1)
	}
	b.ReportMetric(float64(tVal)/float64(tRaw), "x-raw")
	b.ReportMetric(float64(tRaw.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(tVal.Nanoseconds())/float64(b.N), "validate-ns/op")
}

func benchValidate(b *testing.B, s benchSetup) {
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(s.token)))
	reportCPU := benchcpu.Start(b)
	for b.Loop() {
		if _, err := s.v.Validate(ctx, s.token); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU()
}

// BenchmarkRS256 compares a cold validation of a 1.9 KB Entra-like token
// with the bare cryptography it cannot avoid: SHA-256 of the signing input
// plus rsa.VerifyPKCS1v15.
func BenchmarkRS256(b *testing.B) {
	s := setupBench(b, "RS256", false)
	b.Run("Raw", func(b *testing.B) {
		pub := s.pub.(*rsa.PublicKey)
		b.ReportAllocs()
		b.SetBytes(int64(len(s.token)))
		reportCPU := benchcpu.Start(b)
		for b.Loop() {
			h := sha256.Sum256(s.input)
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], s.sig); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU()
	})
	b.Run("RawParallel", func(b *testing.B) {
		// Control for Parallel: how the bare verification scales here.
		pub := s.pub.(*rsa.PublicKey)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h := sha256.Sum256(s.input)
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], s.sig); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Validate", func(b *testing.B) { benchValidate(b, s) })
	b.Run("Ratio", func(b *testing.B) {
		pub := s.pub.(*rsa.PublicKey)
		benchRatio(b, s, func() bool {
			h := sha256.Sum256(s.input)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], s.sig) == nil
		})
	})
	b.Run("Parallel", func(b *testing.B) { benchParallel(b, s) })
	cs := setupBench(b, "RS256", true)
	b.Run("CacheHit", func(b *testing.B) { benchValidate(b, cs) })
	b.Run("CacheHitParallel", func(b *testing.B) { benchParallel(b, cs) })
	b.Logf("token size %d bytes", len(s.token))
}

func BenchmarkES256(b *testing.B) {
	s := setupBench(b, "ES256", false)
	b.Run("Raw", func(b *testing.B) {
		pub := s.pub.(*ecdsa.PublicKey)
		b.ReportAllocs()
		reportCPU := benchcpu.Start(b)
		for b.Loop() {
			h := sha256.Sum256(s.input)
			if !ecdsaVerify(pub, h[:], s.sig) {
				b.Fatal("verify")
			}
		}
		reportCPU()
	})
	b.Run("Validate", func(b *testing.B) { benchValidate(b, s) })
	b.Run("Ratio", func(b *testing.B) {
		pub := s.pub.(*ecdsa.PublicKey)
		benchRatio(b, s, func() bool {
			h := sha256.Sum256(s.input)
			return ecdsaVerify(pub, h[:], s.sig)
		})
	})
	b.Run("Parallel", func(b *testing.B) { benchParallel(b, s) })
	cs := setupBench(b, "ES256", true)
	b.Run("CacheHit", func(b *testing.B) { benchValidate(b, cs) })
}

func BenchmarkEdDSA(b *testing.B) {
	s := setupBench(b, "EdDSA", false)
	b.Run("Raw", func(b *testing.B) {
		pub := s.pub.(ed25519.PublicKey)
		b.ReportAllocs()
		reportCPU := benchcpu.Start(b)
		for b.Loop() {
			if !ed25519.Verify(pub, s.input, s.sig) {
				b.Fatal("verify")
			}
		}
		reportCPU()
	})
	b.Run("Validate", func(b *testing.B) { benchValidate(b, s) })
	b.Run("Ratio", func(b *testing.B) {
		pub := s.pub.(ed25519.PublicKey)
		benchRatio(b, s, func() bool { return ed25519.Verify(pub, s.input, s.sig) })
	})
	b.Run("Parallel", func(b *testing.B) { benchParallel(b, s) })
	cs := setupBench(b, "EdDSA", true)
	b.Run("CacheHit", func(b *testing.B) { benchValidate(b, cs) })
}

// benchParallel validates s.token from every P at once: the scaling of cold
// validation across cores.
func benchParallel(b *testing.B, s benchSetup) {
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(s.token)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.v.Validate(ctx, s.token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
