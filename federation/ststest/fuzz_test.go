package ststest

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/idbridge/idbridge/jwks/jwkstest"
)

// FuzzServe sends arbitrary request bodies to the fake: it must answer
// every one with a well-formed STS XML body (a result or an ErrorResponse)
// and the status that goes with it, and never quote the token it was sent.
func FuzzServe(f *testing.F) {
	idp := jwkstest.NewServer()
	f.Cleanup(idp.Close)
	s := NewServer()
	f.Cleanup(s.Close)
	s.AddOIDCProvider(OIDCProvider{URL: idp.Issuer(), ClientIDs: []string{"app"}, JWKSURL: idp.JWKSURL()})
	s.AddRole(Role{ARN: "arn:aws:iam::111122223333:role/r"})
	good := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {"arn:aws:iam::111122223333:role/r"}, "RoleSessionName": {"amit"},
		"WebIdentityToken": {idp.Mint(map[string]any{"aud": "app", "sub": "amit"})}}
	f.Add(good.Encode())
	for _, kv := range [][2]string{{"DurationSeconds", "x"}, {"RoleSessionName", "a<b>&'\""}, {"Policy", "{"}, {"Version", ""},
		{"WebIdentityToken", "a.b.c"}, {"WebIdentityToken", "e30.e30.e30"}, {"Action", "AssumeRole"}, {"RoleArn", "\x00"}} {
		v := url.Values{}
		for k, vs := range good {
			v[k] = vs
		}
		v.Set(kv[0], kv[1])
		f.Add(v.Encode())
	}
	f.Add("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&%zz")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.serve(w, r)
		resp := w.Result()
		b, _ := io.ReadAll(resp.Body)
		var root struct {
			XMLName xml.Name
			Error   struct{ Code string }
		}
		if err := xml.Unmarshal(b, &root); err != nil {
			t.Fatalf("HTTP %d body is not XML (%v):\n%s", resp.StatusCode, err, b)
		}
		switch root.XMLName.Local {
		case "AssumeRoleWithWebIdentityResponse", "AssumeRoleResponse":
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("result with HTTP %d", resp.StatusCode)
			}
		case "ErrorResponse":
			if root.Error.Code == "" || resp.StatusCode != status(root.Error.Code) {
				t.Fatalf("error %q with HTTP %d", root.Error.Code, resp.StatusCode)
			}
		default:
			t.Fatalf("root element %q", root.XMLName.Local)
		}
		if q, err := url.ParseQuery(body); err == nil {
			tok := q.Get("WebIdentityToken")
			q.Del("WebIdentityToken")
			// The session name is quoted in validation errors: a token
			// hidden in another field may show up through it.
			if len(tok) >= 16 && strings.Contains(string(b), tok) && !strings.Contains(q.Encode()+mustUnescape(q.Encode()), tok) {
				t.Fatal("the answer quotes the token")
			}
		}
	})
}

func mustUnescape(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}
