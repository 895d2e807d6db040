package safeurl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://login.microsoftonline.com/tid/discovery/v2.0/keys", "https://login.microsoftonline.com/tid/discovery/v2.0/keys"},
		{"https://sts.windows.net/tid/", "https://sts.windows.net/tid/"},
		{"https://idp.example", "https://idp.example"},
		{"https://user:s3cret@idp.example/keys", "https://idp.example/keys"},
		{"https://s3cret@idp.example/keys", "https://idp.example/keys"},
		{"https://store.example/keys.json?sv=2024&sig=s3cret", "https://store.example/keys.json"},
		{"https://idp.example/keys#s3cret", "https://idp.example/keys"},
		{"https://idp.example/a%2Fb?x=s3cret", "https://idp.example/a%2Fb"},
		{"http://127.0.0.1:8080/keys?token=s3cret", "http://127.0.0.1:8080/keys"},
		{"user:s3cret@idp.example/keys", "[invalid URL]"},
		{"https://idp.example/%zz?s3cret", "[invalid URL]"},
		{"", ""},
		{"///reader:s3cret@idp.example/keys", "[invalid URL]"},
		{"/keys?sig=s3cret", "[invalid URL]"},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/{tenantid}/v2.0"},
		{"HTTPS://u:p@IdP.example:8443/keys?x", "HTTPS://IdP.example:8443/keys"},
		{"https://a@b:s3cret@idp.example/k", "https://idp.example/k"},
		{"https://u:s3cret@idp.example", "https://idp.example"},
		{"https://u:s3cret@idp.example?x=1", "https://idp.example"},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestError(t *testing.T) {
	inner := &url.Error{Op: "Get", URL: "https://user:s3cret@idp.example/keys?sig=s3cret", Err: context.DeadlineExceeded}
	for _, err := range []error{inner, fmt.Errorf("fetch: %w", inner)} {
		got := Error(err)
		if strings.Contains(got.Error(), "s3cret") {
			t.Fatalf("secret in %q", got)
		}
		if got.Error() != `Get "https://idp.example/keys": context deadline exceeded` {
			t.Fatalf("Error() = %q", got)
		}
		var ue *url.Error
		if !errors.Is(got, context.DeadlineExceeded) || !errors.As(got, &ue) || !ue.Timeout() {
			t.Fatalf("cause lost: %#v", got)
		}
	}
	plain := errors.New("no URL here")
	if Error(plain) != plain || Error(nil) != nil {
		t.Fatal("errors without a URL must pass unchanged")
	}
}

// FuzzString: whatever the input, the output has no user info, query or
// fragment, and keeps the scheme, host and path of a URL with a host.
func FuzzString(f *testing.F) {
	for _, s := range []string{
		"https://user:pw@idp.example/keys?sig=x#f", "https://idp.example/{tenantid}/v2.0",
		"http://[::1]:8080/k", "https://a@b@c/d?e", "//user@host/p", "user:pw@host", "", "//@/", "///user:pw@host",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := String(in)
		u, err := url.Parse(in)
		if in != "" && (err != nil || u.Opaque != "" || u.Host == "") {
			if out != "[invalid URL]" {
				t.Fatalf("String(%q) = %q, want [invalid URL]", in, out)
			}
			return
		}
		v, err := url.Parse(out)
		if err != nil {
			t.Fatalf("String(%q) = %q does not parse: %v", in, out, err)
		}
		if v.User != nil || v.RawQuery != "" || v.ForceQuery || v.Fragment != "" {
			t.Fatalf("String(%q) = %q keeps a secret part", in, out)
		}
		if !strings.EqualFold(v.Scheme, u.Scheme) || v.Host != u.Host || v.Path != u.Path {
			t.Fatalf("String(%q) = %q changed scheme, host or path", in, out)
		}
	})
}
