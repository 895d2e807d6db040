package federation

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// FuzzParseToken: any input yields claims or a typed error, never a panic,
// and no error quotes the input.
func FuzzParseToken(f *testing.F) {
	for _, p := range []string{
		`{"iss":"https://login.microsoftonline.com/t/v2.0","sub":"s","oid":"o","aud":"a","exp":1700000000}`,
		`{"aud":["a","b"],"exp":1.5e9,"appid":"c","uti":"u"}`,
		`{"https://aws.amazon.com/tags":{"principal_tags":{"K":["v"]},"transitive_tag_keys":["K"]},"https://aws.amazon.com/source_identity":"x"}`,
		`{"exp":null,"aud":null}`, `[]`, `{"exp":-1}`, `{"aud":{}}`,
	} {
		f.Add("eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(p)) + ".c2ln")
	}
	f.Add("a.b")
	f.Add("..")
	f.Add("a.e30=.c")
	f.Fuzz(func(t *testing.T, tok string) {
		ti, err := parseToken(tok)
		if err != nil {
			if !errors.Is(err, ErrMalformedToken) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			if len(tok) >= 48 && strings.Contains(err.Error(), tok) {
				t.Fatal("the error quotes the token")
			}
			return
		}
		if ti.hasTags && ti.tags == nil {
			t.Fatal("tags claim without a map")
		}
	})
}

// FuzzSessionName: the result is always a valid session name (or empty for
// empty input), and stable.
func FuzzSessionName(f *testing.F) {
	for _, s := range []string{"", "a", "amit.r@bank.example", "system:serviceaccount:ns:sa", "Ämit", strings.Repeat("x", 80)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SessionName(s)
		if s == "" {
			if got != "" {
				t.Fatalf("SessionName(\"\") = %q", got)
			}
			return
		}
		if !stsNameRe.MatchString(got) {
			t.Fatalf("SessionName(%q) = %q is not a valid session name", s, got)
		}
		if SessionName(s) != got {
			t.Fatal("not deterministic")
		}
		// Valid names pass through unless they look suffixed; every other
		// one gets the hash suffix, so no input can equal another's output.
		suffixed := regexp.MustCompile(`-[0-9a-f]{16}$`)
		if keep := stsNameRe.MatchString(s) && !suffixed.MatchString(s); keep != (got == s) {
			t.Fatalf("SessionName(%q) = %q: kept %v, unchanged %v", s, got, keep, got == s)
		}
		if got != s && !suffixed.MatchString(got) {
			t.Fatalf("SessionName(%q) = %q changed the name without the suffix", s, got)
		}
	})
}

func BenchmarkParseToken(b *testing.B) {
	tok := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(
		`{"iss":"https://login.microsoftonline.com/t/v2.0","sub":"s","oid":"o","tid":"t","aud":"a","exp":1700000000,"uti":"u"}`)) + ".c2ln"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseToken(tok); err != nil {
			b.Fatal(err)
		}
	}
}
