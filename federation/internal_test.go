package federation

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idbridge/idbridge/internal/reason"
)

func jwt(payload string) string {
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
}

func TestParseToken(t *testing.T) {
	tests := []struct {
		name    string
		tok     string
		want    error
		check   func(t *testing.T, ti tokenInfo)
		wantMsg string
	}{
		{name: "Entra v2 ID token", tok: jwt(`{"iss":"https://login.microsoftonline.com/t/v2.0","sub":"s","oid":"o","tid":"t","aud":"app","exp":1700000000,"uti":"u"}`),
			check: func(t *testing.T, ti tokenInfo) {
				if ti.iss != "https://login.microsoftonline.com/t/v2.0" || ti.sub != "s" || ti.oid != "o" || ti.tid != "t" || ti.jti != "u" ||
					len(ti.aud) != 1 || ti.aud[0] != "app" || !ti.exp.Equal(time.Unix(1700000000, 0)) {
					t.Errorf("%+v", ti)
				}
			}},
		{name: "aud list, fractional exp, v1 appid", tok: jwt(`{"aud":["a","b"],"exp":1700000000.5,"appid":"c"}`),
			check: func(t *testing.T, ti tokenInfo) {
				if len(ti.aud) != 2 || ti.azp != "c" || ti.exp.Nanosecond() != 5e8 {
					t.Errorf("%+v", ti)
				}
			}},
		{name: "AWS tags and source identity", tok: jwt(`{"https://aws.amazon.com/tags":{"principal_tags":{"Dept":["Lending"]},"transitive_tag_keys":["Dept"]},"https://aws.amazon.com/source_identity":"amit"}`),
			check: func(t *testing.T, ti tokenInfo) {
				if !ti.hasTags || ti.tags["Dept"] != "Lending" || len(ti.transitive) != 1 || ti.sourceIdentity != "amit" {
					t.Errorf("%+v", ti)
				}
			}},
		{name: "null claims", tok: jwt(`{"aud":null,"exp":null,"https://aws.amazon.com/tags":null}`)},
		{name: "RFC 9068 client_id labels the client", tok: jwt(`{"scope":"profile","client_id":"svc-1"}`),
			check: func(t *testing.T, ti tokenInfo) {
				if ti.azp != "svc-1" {
					t.Errorf("azp %q", ti.azp)
				}
			}},
		{name: "azp and client_id that disagree", tok: jwt(`{"azp":"a","client_id":"b"}`), want: ErrMalformedToken},
		{name: "newline in the payload", tok: "eyJhbGciOiJSUzI1NiJ9.e30\n.c2ln", want: ErrMalformedToken},
		{name: "two parts", tok: "a.b", want: ErrMalformedToken},
		{name: "empty payload", tok: "a..c", want: ErrMalformedToken},
		{name: "not base64", tok: "a.!!!.c", want: ErrMalformedToken},
		{name: "padded base64", tok: "a.e30=.c", want: ErrMalformedToken},
		{name: "not JSON", tok: jwt(`[1]`), want: ErrMalformedToken},
		{name: "numeric sub", tok: jwt(`{"sub":1}`), want: ErrMalformedToken},
		{name: "aud object", tok: jwt(`{"aud":{}}`), want: ErrMalformedToken},
		{name: "exp string", tok: jwt(`{"exp":"soon"}`), want: ErrMalformedToken},
		{name: "exp negative", tok: jwt(`{"exp":-1}`), want: ErrMalformedToken},
		{name: "exp huge", tok: jwt(`{"exp":1e300}`), want: ErrMalformedToken},
		{name: "tag with two values", tok: jwt(`{"https://aws.amazon.com/tags":{"principal_tags":{"Dept":["a","b"]}}}`), want: ErrMalformedToken},
		{name: "tags not an object", tok: jwt(`{"https://aws.amazon.com/tags":"Dept=a"}`), want: ErrMalformedToken},
		{name: "source identity not a string", tok: jwt(`{"https://aws.amazon.com/source_identity":["a"]}`), want: ErrMalformedToken},
		{name: "too large", tok: strings.Repeat("a", maxTokenLength+1), want: ErrTooLarge},
		{name: "claim name smuggling a token is cut", tok: jwt(`{"https://aws.amazon.com/tags":{"principal_tags":{"` + strings.Repeat("k", 200) + `":[1]}}}`),
			want: ErrMalformedToken, wantMsg: strings.Repeat("k", 40) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ti, err := parseToken(tc.tok)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, ti)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.tok) || (len(tc.tok) > 20 && strings.Contains(err.Error(), tc.tok[20:])) {
				t.Error("the error quotes the token")
			}
			if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q lacks %q", err, tc.wantMsg)
			}
		})
	}
}

func TestSessionNameRules(t *testing.T) {
	long := strings.Repeat("a", 70)
	long2 := strings.Repeat("a", 69) + "b"
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a-ca978112ca1bbdca"},
		{"amit.r@bank.example", "amit.r@bank.example"},
		{"a1b2c3d4-0001-4a5b-8c6d-000000000001", "a1b2c3d4-0001-4a5b-8c6d-000000000001"},
		{"system:serviceaccount:payments:analytics", "system_serviceaccount_payments_analytics-d7b5435ad3389a96"},
		{"Ämit Rå", "_mit_R_-36e51a035a22539c"},
		{"a+b=c,d", "a+b=c,d"},
		{"x/y z", "x_y_z-96ec5b3f0b18c83a"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
	}
	for _, tc := range tests {
		if got := SessionName(tc.in); got != tc.want {
			t.Errorf("SessionName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	a, b := SessionName(long), SessionName(long2)
	if len(a) != 64 || len(b) != 64 || a == b || !stsNameRe.MatchString(a) {
		t.Errorf("long names %q %q", a, b)
	}
	// Inputs that the '_' mapping would merge keep distinct names: access
	// keyed by session (${aws:userid}) must not be shared between users.
	for _, pair := range [][2]string{{"josé", "josè"}, {"a:b", "a_b"}, {"a b", "a_b"}, {"x", "x_"}, {"é", "è"},
		{"x/y z", "x_y_z-96ec5b3f0b18c83a"}, {long, SessionName(long)}} {
		if x, y := SessionName(pair[0]), SessionName(pair[1]); x == y {
			t.Errorf("SessionName(%q) = SessionName(%q) = %q", pair[0], pair[1], x)
		}
	}
}

func newTestAssumer(t *testing.T, now *time.Time, optFns ...func(*Options)) *assumer {
	t.Helper()
	fns := append([]func(*Options){func(o *Options) { o.Now = func() time.Time { return *now } }}, optFns...)
	a, err := newAssumer(nilClient{}, "arn:aws:iam::111122223333:role/r", fns)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type nilClient struct{}

func (nilClient) AssumeRoleWithWebIdentity(context.Context, *sts.AssumeRoleWithWebIdentityInput, ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return nil, errors.New("not used")
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	a := newTestAssumer(t, &now, func(o *Options) { o.MinBackoff, o.MaxBackoff = time.Second, 8*time.Second })
	err := &Error{Err: ErrSTSUnavailable}
	prevMax := time.Duration(0)
	for i := 1; i <= 8; i++ {
		a.remember([32]byte{}, err)
		d := a.fail.Load().until.Sub(now)
		ceiling := min(time.Second<<(i-1), 8*time.Second)
		if d < ceiling/2 || d > ceiling {
			t.Errorf("failure %d: backoff %s, want within [%s, %s]", i, d, ceiling/2, ceiling)
		}
		prevMax = max(prevMax, d)
	}
	if prevMax > 8*time.Second {
		t.Errorf("backoff exceeded MaxBackoff: %s", prevMax)
	}
	a.remember([32]byte{}, &Error{Err: ErrAccessDenied})
	if d := a.fail.Load().until.Sub(now); d != defaultNonRecoverableTTL {
		t.Errorf("non-recoverable remembered for %s", d)
	}
}

func TestClassifyWithoutAPIError(t *testing.T) {
	now := time.Now()
	a := newTestAssumer(t, &now)
	tok := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbWl0In0.c2lnbmF0dXJlc2lnbmF0dXJl"
	err := a.classify(fmt.Errorf("operation error: dial tcp: echo of %s", tok))
	if !errors.Is(err, ErrSTSUnavailable) || strings.Contains(err.Error(), tok) {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("the detail was not scrubbed: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Err: ErrAccessDenied, Code: "AccessDenied", Status: 403, RequestID: "r-1", Message: "Not authorized", RoleARN: "arn:aws:iam::111122223333:role/r"}
	want := "federation: the role's trust policy denies the token (STS AccessDenied, HTTP 403, request ID r-1): Not authorized [role arn:aws:iam::111122223333:role/r]"
	if e.Error() != want {
		t.Errorf("\n got %s\nwant %s", e.Error(), want)
	}
	if e.Reason() != reason.Forbidden {
		t.Errorf("reason %q", e.Reason())
	}
	if (&Error{Err: ErrNoIdentityToken, Detail: "none"}).Error() != "federation: no identity token of the configured kind: none" {
		t.Error("detail formatting")
	}
}

func TestTokenKindString(t *testing.T) {
	if IDToken.String() != "id_token" || AccessToken.String() != "access_token" || TokenKind(9).String() != "TokenKind(9)" {
		t.Error("TokenKind.String")
	}
}
