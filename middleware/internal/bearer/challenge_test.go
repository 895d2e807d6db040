package bearer

import (
	"strings"
	"testing"
)

func TestBearerChallengeError(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"guard's answer", []string{`Bearer realm="lending", error="invalid_token", error_description="expired"`}, "invalid_token"},
		{"unquoted", []string{`Bearer error=invalid_token`}, "invalid_token"},
		{"case-insensitive names", []string{`bearer ERROR="invalid_token"`}, "invalid_token"},
		{"value is case-sensitive", []string{`Bearer error="Invalid_Token"`}, "Invalid_Token"},
		{"spaces around =", []string{`Bearer realm = "x" , error = "invalid_token"`}, "invalid_token"},
		{"bare challenge", []string{`Bearer realm="lending"`}, ""},
		{"scheme only", []string{`Bearer`}, ""},
		{"claims challenge", []string{`Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhIjoxfQ=="`}, "insufficient_claims"},
		{"after another challenge", []string{`Basic realm="x", Bearer error="invalid_token"`}, "invalid_token"},
		{"after a token68", []string{`Negotiate YIIB/x+y==, Bearer error="invalid_token"`}, "invalid_token"},
		{"unpadded token68", []string{`Negotiate abc, Bearer error="invalid_token"`}, "invalid_token"},
		{"another scheme's error", []string{`Basic realm="x", error="invalid_token"`}, ""},
		{"error after Bearer ended", []string{`Bearer realm="x", DPoP error="invalid_token"`}, ""},
		{"inside a quoted string", []string{`Bearer realm="a, error=\"invalid_token\""`}, ""},
		{"escaped quote in value", []string{`Bearer realm="a\"b", error="invalid_token"`}, "invalid_token"},
		{"unterminated quote", []string{`Bearer error="invalid_token`}, ""},
		{"second header", []string{`Basic realm="x"`, `Bearer error="invalid_token"`}, "invalid_token"},
		{"first Bearer wins", []string{`Bearer realm="x"`, `Bearer error="invalid_token"`}, ""},
		{"garbage", []string{`"Bearer" error="invalid_token"`}, ""},
		{"empty", nil, ""},
		{"too large", []string{`Bearer error="invalid_token", x="` + strings.Repeat("a", maxChallengeSize) + `"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChallengeError(tt.values); got != tt.want {
				t.Errorf("ChallengeError(%q) = %q, want %q", tt.values, got, tt.want)
			}
		})
	}
}

// FuzzBearerChallengeError checks that the challenge reader never panics
// or loops, and that what it returns is a token or quoted-string content
// found in the input after a Bearer scheme.
func FuzzBearerChallengeError(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="lending", error="invalid_token", error_description="expired"`,
		`Basic realm="x", Bearer error=invalid_token`, `Negotiate abc==, Bearer error="a\"b"`,
		`Bearer`, `,,,`, `Bearer error=`, `Bearer error="`, `Bearer =x`, `Bearer a==, error=x`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ChallengeError([]string{s})
		if got == "" {
			return
		}
		if !strings.Contains(strings.ToLower(s), "bearer") {
			t.Fatalf("error %q from %q, which has no Bearer challenge", got, s)
		}
		if !strings.Contains(s, got) && !strings.Contains(strings.ReplaceAll(s, `\`, ""), got) {
			t.Fatalf("error %q is not in %q", got, s)
		}
	})
}
