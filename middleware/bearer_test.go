package middleware

import (
	"errors"
	"github.com/idbridge/idbridge/middleware/internal/bearer"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name   string
		header string
		max    int
		want   string
		err    error
	}{
		{"plain", "Bearer abc.def.ghi", 100, "abc.def.ghi", nil},
		{"case-insensitive scheme", "bEaReR abc", 100, "abc", nil},
		{"several spaces and a tab", "Bearer \t  abc", 100, "abc", nil},
		{"surrounding whitespace", "  Bearer abc\t", 100, "abc", nil},
		{"all b64token characters", "Bearer aZ09-._~+/==", 100, "aZ09-._~+/==", nil},
		{"padding only", "Bearer ==", 100, "", ErrMalformedHeader},
		{"padding inside", "Bearer a=b", 100, "", ErrMalformedHeader},
		{"empty", "", 100, "", ErrNoToken},
		{"whitespace only", " \t ", 100, "", ErrNoToken},
		{"basic", "Basic dTpw", 100, "", ErrNoToken},
		{"scheme prefix", "Bearerabc", 100, "", ErrNoToken},
		{"scheme only", "Bearer", 100, "", ErrMalformedHeader},
		{"scheme and space", "Bearer   ", 100, "", ErrMalformedHeader},
		{"two tokens", "Bearer a b", 100, "", ErrMalformedHeader},
		{"comma list", "Bearer a, Bearer b", 100, "", ErrMalformedHeader},
		{"quoted", `Bearer "abc"`, 100, "", ErrMalformedHeader},
		{"auth-param form", `Bearer token="abc"`, 100, "", ErrMalformedHeader},
		{"non-ASCII", "Bearer abcé", 100, "", ErrMalformedHeader},
		{"control character", "Bearer ab\x00c", 100, "", ErrMalformedHeader},
		{"at the cap", "Bearer " + strings.Repeat("a", 100), 100, strings.Repeat("a", 100), nil},
		{"over the cap", "Bearer " + strings.Repeat("a", 101), 100, "", ErrTokenTooLarge},
		{"huge header", "Bearer " + strings.Repeat(" ", 1000) + "a", 100, "", ErrTokenTooLarge},
		{"huge header, upper case", "BEARER " + strings.Repeat("a", 1000), 100, "", ErrTokenTooLarge},
		{"huge header of another scheme", "Negotiate " + strings.Repeat("a", 1000), 100, "", ErrNoToken},
		{"huge header without a space", "Bearer" + strings.Repeat("a", 1000), 100, "", ErrNoToken},
		{"tab after the scheme", "Bearer\tabc", 100, "abc", nil},
		{"scheme and comma", "Bearer,abc", 100, "", ErrNoToken},
		{"scheme with non-ASCII letter", "Beare\u0280 abc", 100, "", ErrNoToken},
		{"non-breaking space", "Bearer\u00a0abc", 100, "", ErrNoToken},
		{"CR LF inside", "Bearer a\r\nb", 100, "", ErrMalformedHeader},
		{"at the cap plus slack", "Bearer" + strings.Repeat(" ", 58) + strings.Repeat("a", 100), 100, strings.Repeat("a", 100), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuthorization(tt.header, tt.max)
			if got != tt.want || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("parseAuthorization = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
			if err != nil && len(tt.header) > 8 && strings.Contains(err.Error(), tt.header[7:]) {
				t.Errorf("error %q quotes the header", err)
			}
		})
	}
}

func TestBearerFromRequest(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		headers    []string
		allowQuery bool
		want       string
		fromQuery  bool
		err        error
	}{
		{"header", "/", []string{"Bearer abc"}, false, "abc", false, nil},
		{"no header", "/", nil, false, "", false, ErrNoToken},
		{"two headers", "/", []string{"Bearer a", "Bearer a"}, false, "", false, ErrMultipleTokens},
		{"unrelated query", "/?page=2&q=access", []string{"Bearer abc"}, false, "abc", false, nil},
		{"query refused", "/?access_token=abc", nil, false, "", false, ErrQueryToken},
		{"encoded key refused", "/?access%5ftoken=abc", nil, false, "", false, ErrQueryToken},
		{"query after a bad pair", "/?a=%zz&access_token=abc", nil, false, "", false, ErrQueryToken},
		// A token smuggled past url.ParseQuery, which skips pairs with ';'
		// and values that do not decode: still a token in the URL, refused.
		{"behind a ';' pair", "/?a=1;access_token=abc", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"';' separated", "/?access_token=abc;a=1", nil, false, "", false, ErrQueryToken},
		{"';' and '&' mixed", "/?a=1&b=2;access_token=abc&c=3", nil, false, "", false, ErrQueryToken},
		{"encoded key behind ';'", "/?a=1;access%5Ftoken=abc", nil, false, "", false, ErrQueryToken},
		{"fully encoded key", "/?%61%63%63%65%73%73%5f%74%6f%6b%65%6e=abc", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"upper-case key", "/?ACCESS_TOKEN=abc", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"value that does not decode", "/?access_token=abc%zz", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"key without value", "/?x=1&access_token", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"';' pair when allowed, with a header", "/?a=1;access_token=abc", []string{"Bearer abc"}, true, "", false, ErrMultipleTokens},
		{"';' and '&' tokens when allowed", "/?access_token=a;access_token=b", nil, true, "", false, ErrMultipleTokens},
		{"undecodable value when allowed", "/?access_token=abc%zz", nil, true, "", false, ErrMalformedHeader},
		{"not a token name", "/?access_tokens=abc&my_access_token=x&access=token&q=access_token", []string{"Bearer abc"}, false, "abc", false, nil},
		{"double-encoded name is not the name", "/?access%255Ftoken=abc", []string{"Bearer abc"}, false, "abc", false, nil},
		{"path parameter", "/loans;access_token=abc", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"path parameter when query tokens are allowed", "/loans;access_token=abc", nil, true, "", false, ErrQueryToken},
		{"second path parameter", "/loans;v=2;ACCESS%5Ftoken=abc/x", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"path parameter in an earlier segment", "/loans;a=1/access_token=abc", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"encoded ';' in the path", "/loans%3Baccess_token=abc", []string{"Bearer abc"}, false, "", false, ErrQueryToken},
		{"path segment named access_token", "/docs;v=1/access_token", []string{"Bearer abc"}, false, "abc", false, nil},
		{"access_token in a path without ';'", "/docs/access_token=abc", []string{"Bearer abc"}, false, "abc", false, nil},
		{"query allowed", "/?access_token=abc", nil, true, "abc", true, nil},
		{"query allowed behind ';'", "/?a=1;access_token=abc", nil, true, "abc", true, nil},
		{"query and header", "/?access_token=abc", []string{"Bearer abc"}, true, "", false, ErrMultipleTokens},
		{"two query tokens", "/?access_token=a&access_token=b", nil, true, "", false, ErrMultipleTokens},
		{"empty query token", "/?access_token=", nil, true, "", false, ErrMalformedHeader},
		{"query token too large", "/?access_token=" + strings.Repeat("a", 2000), nil, true, "", false, ErrTokenTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			got, fromQuery, err := bearerFromRequest(r, 1024, tt.allowQuery)
			if got != tt.want || fromQuery != tt.fromQuery || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("= %q, %v, %v; want %q, %v, %v", got, fromQuery, err, tt.want, tt.fromQuery, tt.err)
			}
		})
	}
}

func TestStripQueryToken(t *testing.T) {
	tests := []struct{ query, want string }{
		{"b=2&access_token=abc&a=1", "b=2&a=1"},
		{"access_token=abc", ""},
		{"x=%2F&access%5Ftoken=abc&x=1&sig=A%2Bb", "x=%2F&x=1&sig=A%2Bb"},
		{"a=%zz&access_token=abc", "a=%zz"},
		{"access_token=a&access_token=b&c", "c"},
		{"a=1;access_token=abc;b=2", "a=1;b=2"},
		{"a=1;access_token=abc&b=2", "a=1&b=2"},
		{"access_token=abc;b=2", "b=2"},
		{"a=1&ACCESS%5ftoken=abc", "a=1"},
		{"a=1&access_token=%zz&b=%zz", "a=1&b=%zz"},
		{"a=1&access_token", "a=1"},
		{"q=access_token&access_tokens=1", "q=access_token&access_tokens=1"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/x?"+tt.query, nil)
		u := stripQueryToken(r.URL)
		if u.RawQuery != tt.want || r.URL.RawQuery != tt.query {
			t.Errorf("%q: stripped %q, want %q; original now %q", tt.query, u.RawQuery, tt.want, r.URL.RawQuery)
		}
	}
}

// FuzzQueryTokens checks that the query and path scanners never panic, finds every
// access_token that url.ParseQuery finds (and more: ';' pairs, undecodable
// values), and that stripQueryToken leaves none for it to find.
func FuzzQueryTokens(f *testing.F) {
	for _, s := range []string{
		"", "a=1", "access_token=abc", "a=1;access_token=abc", "access%5Ftoken=x&b", "ACCESS_TOKEN=%zz;;&",
		"%61ccess_token=1", "access_token", "=&;=", "access_token=a;access_token=b&access_token=c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if pathToken(q) && !strings.Contains(q, ";") {
			t.Fatalf("%q: a path without ';' has a token parameter", q)
		}
		got := queryTokens(q)
		if std, _ := url.ParseQuery(q); len(got) < len(std[queryTokenParam]) {
			t.Fatalf("%q: found %d tokens, url.ParseQuery %d", q, len(got), len(std[queryTokenParam]))
		}
		if rest := stripQueryToken(&url.URL{RawQuery: q}).RawQuery; len(queryTokens(rest)) > 0 {
			t.Fatalf("%q: stripped to %q, which still holds a token", q, rest)
		}
	})
}

// FuzzParseAuthorization checks that the header parser never panics, that
// whatever it accepts is one RFC 6750 b64token within the cap that
// round-trips, and that every error wraps one of the extraction sentinels
// without quoting the header.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"Bearer abc.def.ghi", "bearer  a", "Bearer", "Bearer ", "Basic dTpw", "", " ", "Bearer a b",
		"Bearer a,b", "Bearer ==", "Bearer a==", "Bearer a=b", "\tBEARER\tx\t", "Bearer \x00", "Bearer é",
		"Bearer " + strings.Repeat("x", 300),
	} {
		f.Add(s)
	}
	const max = 256
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := parseAuthorization(h, max)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
			if !errors.Is(err, ErrNoToken) && !errors.Is(err, ErrMalformedHeader) && !errors.Is(err, ErrTokenTooLarge) {
				t.Fatalf("error %v wraps no extraction sentinel", err)
			}
			if len(h) >= 16 && strings.Contains(err.Error(), h) {
				t.Fatalf("error %q quotes the header", err)
			}
			return
		}
		if tok == "" || len(tok) > max || !bearer.IsB64Token(tok) {
			t.Fatalf("accepted %q from %q", tok, h)
		}
		if strings.ContainsAny(tok, " \t,\"") {
			t.Fatalf("accepted token with separator %q", tok)
		}
		again, err := parseAuthorization("Bearer "+tok, max)
		if err != nil || again != tok {
			t.Fatalf("round trip of %q: %q, %v", tok, again, err)
		}
		if !strings.HasSuffix(trimOWS(h), tok) || !strings.EqualFold(trimOWS(h)[:6], "bearer") {
			t.Fatalf("token %q is not the tail of a Bearer header %q", tok, h)
		}
	})
}
