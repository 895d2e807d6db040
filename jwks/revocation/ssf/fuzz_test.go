package ssf_test

import (
	"testing"

	"github.com/idbridge/idbridge/jwks/revocation/ssf"
)

func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{
		`{"format":"iss_sub","iss":"https://idp.example","sub":"leo"}`,
		`{"format":"email","email":"leo@bank.example"}`,
		`{"format":"opaque","id":"7b2c1e8a"}`,
		`{"format":"complex","user":{"format":"opaque","id":"u"},"session":{"format":"opaque","id":"s"},"tenant":{"format":"opaque","id":"t"}}`,
		`{"format":"aliases","identifiers":[{"format":"email","email":"a@b"},{"format":"opaque","id":"x"}]}`,
		`{"format":"account","uri":"acct:leo@bank.example"}`,
		`{"format":"complex","user":{"format":"complex"}}`,
		`{"format":7}`, `[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ssf.ParseSubject(b)
		if err != nil {
			return
		}
		if s.Format == "" {
			t.Fatal("accepted a subject without format")
		}
		if s.Format == "complex" && s.User == nil && s.Session == nil && s.Tenant == nil && s.Device == nil &&
			s.Application == nil && s.OrgUnit == nil && s.Group == nil {
			t.Fatal("accepted an empty complex subject")
		}
	})
}

func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"`+ssf.SessionRevoked+`":{"subject":{"format":"opaque","id":"s"},"event_timestamp":1700000000}}`), []byte(nil))
	f.Add([]byte(`{"`+ssf.CredentialChange+`":{"change_type":"update"}}`), []byte(`{"format":"iss_sub","iss":"i","sub":"s"}`))
	f.Add([]byte(`{"https://example.com/unknown":{}}`), []byte(nil))
	f.Add([]byte(`{}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, events, subID []byte) {
		evs, err := ssf.ParseEvents(events, subID)
		if err != nil {
			return
		}
		if len(evs) == 0 {
			t.Fatal("no events and no error")
		}
		for _, ev := range evs {
			if ev.Type == ssf.SessionRevoked && ev.Subject == nil {
				t.Fatal("a known event without subject was accepted")
			}
		}
	})
}
